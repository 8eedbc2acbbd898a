// The dispatcher (SPEC §4.4): delivers the outbox. Each user's events go out strictly in
// order (only the head of a user's queue is ever in flight), different users' in parallel;
// a domain has at most PER_DOMAIN_IN_FLIGHT deliveries at once, so a slow receiver holds
// only its own domain's slots. New events are picked up at once (the chat service wakes us
// after each commit); a poll catches retries that came due and work left by a crash.
import type { Logger } from '../log.ts'
import type { Service } from '../service.ts'
import type { ClaimedEvent, Completed, Completion, EventKind, Store } from '../store/index.ts'
import { leaseUntil } from '../store/lease-rules.ts'
import { isAppError } from '../errors.ts'
import { decide } from './policy.ts'
import { retryDelay } from './retry.ts'
import type { Sender } from './sender.ts'

/** Deliveries in flight for one domain (its receivers' share of this node). */
export const PER_DOMAIN_IN_FLIGHT = 64
/** Deliveries in flight on this node, all domains together. */
export const TOTAL_IN_FLIGHT = 2048
/** How often ready queues are looked for without being woken (retries, other nodes). */
const POLL_MS = 1000
/** How long a stopping node keeps delivering what is ready. */
const STOP_DRAIN_MS = 3000
/** How often an outcome the database did not take is offered again. */
const RECORD_RETRY_MS = 500
/** How often the leases of nodes that are gone are freed (another node's crash). */
const RECOVER_EVERY_MS = 10_000
/**
 * Deliveries of one user's queue in a row on one lease (each completion hands over the next
 * event). Then the queue waits its turn among the domain's ready queues again, so that a
 * user with a long backlog holds one of the domain's slots for a while, not for good.
 */
export const CHAIN_MAX = 16

export interface DeliveryObserver {
  attempt(kind: EventKind, result: 'ok' | 'failed', durationSec: number, lagSec: number | null): void
}

export class Dispatcher implements Service {
  readonly name = 'dispatcher'
  private readonly inflight = new Map<string, number>()
  private total = 0
  /** domains that may have something ready */
  private readonly candidates = new Set<string>()
  private scheduled = false
  private pumping = false
  private again = false
  private running = false
  private pollTimer: NodeJS.Timeout | null = null
  private readonly deliveries = new Set<Promise<void>>()
  /** events this node is sending or recording (their leases are ours for good reason) */
  private readonly holding = new Set<number>()
  /** a claim failed while the database was unreachable: it may have committed */
  private claimLost = false
  /** chained events leased to us, by domain, waiting for one of its slots */
  private readonly waiting = new Map<string, Array<{ ev: ClaimedEvent, chained: number }>>()
  private waitingCount = 0

  constructor (
    private readonly store: Store,
    private readonly sender: Sender,
    private readonly opts: { timeoutMs: number, retryDelaysMs: readonly number[] },
    private readonly observer: DeliveryObserver,
    private readonly log: Logger
  ) {}

  async start (): Promise<void> {
    await this.recover()
    this.running = true
    this.pollTimer = setInterval(() => { void this.poll() }, POLL_MS)
    await this.poll()
  }

  private lastRecoverAt = 0

  /** Frees what nodes that are gone left leased; gives every pending event a queue. */
  private async recover (): Promise<void> {
    this.lastRecoverAt = Date.now()
    const recovered = await this.store.recoverOutbox(this.store.now())
    if (recovered > 0) this.log.info({ queues: recovered }, 'outbox queues recovered')
  }

  /**
   * Delivers what is ready for a short while (the offline events of a stopping server), then
   * stops claiming and waits for the deliveries in flight. What is left stays pending.
   */
  async stop (): Promise<void> {
    if (this.pollTimer !== null) clearInterval(this.pollTimer)
    const until = Date.now() + Math.min(this.opts.timeoutMs, STOP_DRAIN_MS)
    while (Date.now() < until && (this.total > 0 || this.waitingCount > 0 || this.candidates.size > 0 || this.scheduled || this.pumping)) {
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    this.running = false
    await Promise.all(this.deliveries)
  }

  /** Something was written for `domainId`: look now. */
  wake (domainId: string): void {
    this.candidates.add(domainId)
    this.schedule()
  }

  private schedule (): void {
    if (this.scheduled || !this.running) return
    this.scheduled = true
    setImmediate(() => { this.scheduled = false; void this.pump() })
  }

  private async poll (): Promise<void> {
    try {
      if (Date.now() - this.lastRecoverAt >= RECOVER_EVERY_MS) await this.recover()
      if (this.claimLost) {
        // A claim failed with the database gone: if it committed before its answer was lost,
        // its queues are leased to us and nobody sends them. Free all but what we hold.
        const freed = await this.store.releaseLeases(this.store.nodeId, [...this.holding], this.store.now())
        this.claimLost = false
        if (freed > 0) this.log.info({ queues: freed }, 'leases of a claim whose answer was lost are free again')
      }
      for (const d of await this.store.readyDomains(this.store.now())) this.candidates.add(d)
      this.schedule()
    } catch (err) {
      this.log.error({ err }, 'outbox poll failed')
    }
  }

  private async pump (): Promise<void> {
    if (this.pumping) { this.again = true; return }
    this.pumping = true
    try {
      for (const domainId of [...this.candidates]) {
        this.candidates.delete(domainId)
        if (!this.running) break
        let free = Math.min(PER_DOMAIN_IN_FLIGHT - (this.inflight.get(domainId) ?? 0), TOTAL_IN_FLIGHT - this.total)
        // Chained events first: they are leased to us already.
        const waiting = this.waiting.get(domainId)
        while (free > 0 && waiting !== undefined && waiting.length > 0) {
          const w = waiting.shift()!
          this.waitingCount--
          this.track(this.deliver(w.ev, w.chained))
          free--
        }
        if (waiting?.length === 0) this.waiting.delete(domainId)
        // At capacity: each delivery that ends wakes the domain again.
        if (free <= 0) continue
        const now = this.store.now()
        const claimed = await this.store.claimEvents(domainId, this.store.nodeId, now, leaseUntil(now, this.opts.timeoutMs), free)
        for (const ev of claimed) this.track(this.deliver(ev))
      }
    } catch (err) {
      if (isAppError(err) && err.code === 'unavailable') {
        this.claimLost = true
        this.log.warn('outbox claim failed: the database cannot be reached')
      } else {
        this.log.error({ err }, 'outbox claim failed')
      }
    } finally {
      this.pumping = false
      if (this.again) { this.again = false; this.schedule() }
    }
  }

  private track (p: Promise<void>): void {
    this.deliveries.add(p)
    void p.finally(() => this.deliveries.delete(p))
  }

  /**
   * Records an attempt's outcome. While the database cannot be reached, tries again every
   * RECORD_RETRY_MS for as long as our lease lasts: the lease keeps the user's queue ours, so
   * the outcome, once recorded, moves the queue on (dropping it would hold the user's later
   * events until the lease ran out, and send this one again).
   */
  private async record (c: Completion): Promise<Completed> {
    const until = leaseUntil(Date.now(), this.opts.timeoutMs) - RECORD_RETRY_MS
    for (;;) {
      try {
        return await this.store.complete(c)
      } catch (err) {
        // (a stopping node gives up: the lease runs out and the event is sent again)
        if (!(isAppError(err) && err.code === 'unavailable') || Date.now() > until || !this.running) throw err
        await new Promise((resolve) => setTimeout(resolve, RECORD_RETRY_MS))
      }
    }
  }

  /** A chained event, leased to us with a completion: sent when its domain has a slot. */
  private chain (ev: ClaimedEvent, chained: number): void {
    this.holding.add(ev.id)
    const list = this.waiting.get(ev.domainId)
    if (list === undefined) this.waiting.set(ev.domainId, [{ ev, chained }])
    else list.push({ ev, chained })
    this.waitingCount++
  }

  /** `chained`: how many of its user's events went before it on the same lease. */
  private async deliver (ev: ClaimedEvent, chained = 0): Promise<void> {
    this.inflight.set(ev.domainId, (this.inflight.get(ev.domainId) ?? 0) + 1)
    this.total++
    this.holding.add(ev.id)
    // The domain's slot is the receiver's: it frees once the attempt is over, while the
    // outcome is still being recorded (that wait is the database's, not the receiver's, and
    // the user's queue stays leased until it is recorded, so its order holds). The node's
    // total counts the recording too, so outcomes waiting for a slow database stay bounded.
    let slotFree = false
    const freeSlot = (): void => {
      if (slotFree) return
      slotFree = true
      const n = (this.inflight.get(ev.domainId) ?? 1) - 1
      if (n === 0) this.inflight.delete(ev.domainId)
      else this.inflight.set(ev.domainId, n)
      this.wake(ev.domainId)
    }
    const attempt = ev.attempts + 1
    try {
      const r = await this.sender.send({ pool: ev.domainId, url: ev.url, webhookId: ev.webhookId, body: ev.body, secrets: ev.secrets })
      freeSlot()
      const outcome = decide(r)
      const at = r.startedAt
      const ok = outcome.action === 'delivered'
      const c: Completion = {
        eventId: ev.id,
        nodeId: this.store.nodeId,
        domainId: ev.domainId,
        kind: ev.kind,
        userid: ev.userid,
        at,
        outcome: 'delivered',
        log: {
          domainId: ev.domainId,
          kind: ev.kind,
          eventId: ev.id,
          webhookId: ev.webhookId,
          at,
          url: ev.url,
          requestHeaders: r.requestHeaders,
          requestBody: ev.body,
          responseStatus: r.status,
          responseBody: r.responseBody,
          durationMs: r.durationMs,
          error: ok ? null : (outcome as { reason: string }).reason,
          attempt,
          result: ok ? 'ok' : 'failed'
        }
      }
      if (outcome.action === 'retry') {
        const delay = retryDelay(attempt, this.opts.retryDelaysMs, outcome.retryAfterMs)
        if (delay === null) {
          c.outcome = 'disable'
          c.disabledReason = `${attempt} attempts failed; the last: ${outcome.reason}`
        } else {
          c.outcome = 'retry'
          // From when the attempt ended: a slow attempt still waits its full step.
          c.nextAttemptAt = this.store.now() + delay
          setTimeout(() => this.wake(ev.domainId), delay + 5).unref()
        }
      } else if (outcome.action === 'disable') {
        c.outcome = 'disable'
        c.disabledReason = outcome.reason
      } else if (outcome.action === 'failed') {
        c.outcome = 'failed'
      }
      if ((c.outcome === 'delivered' || c.outcome === 'failed') && this.running && chained + 1 < CHAIN_MAX) {
        c.chainUntil = leaseUntil(this.store.now(), this.opts.timeoutMs)
      }
      const done = await this.record(c)
      if (done.next !== null) this.chain(done.next, chained + 1)
      if (!done.held) {
        // Our lease ran out (a stall longer than the lease) and another node took the event:
        // its attempt decides; ours is in the log.
        this.log.warn({ domainId: ev.domainId, kind: ev.kind, eventId: ev.id }, 'lease lost before the attempt was recorded')
      } else if (c.outcome === 'disable') this.log.warn({ domainId: ev.domainId, kind: ev.kind, reason: c.disabledReason }, 'callback disabled')
      else if (!ok) this.log.debug({ domainId: ev.domainId, kind: ev.kind, eventId: ev.id, attempt, outcome: c.outcome }, 'delivery failed')
      this.observer.attempt(ev.kind, ok ? 'ok' : 'failed', r.durationMs / 1000, ok ? (Date.now() - ev.createdAt) / 1000 : null)
    } catch (err) {
      // The store could not record the outcome: the lease runs out and the event is sent
      // again (at least once).
      this.log.error({ err, eventId: ev.id }, 'delivery not recorded')
    } finally {
      freeSlot()
      this.holding.delete(ev.id)
      this.total--
      this.wake(ev.domainId)
    }
  }
}
