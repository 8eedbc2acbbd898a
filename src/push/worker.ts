// The push worker (SPEC §10.1): sends the push jobs, any node, each job leased to the node
// sending it. Its own connections and its own slots: a slow push service never delays the
// callbacks (their dispatcher is another worker), and never the chat (jobs are queued after
// the message is stored and acked). Woken when a job is queued; a poll catches retries that
// came due, and jobs another node (or a crash) left.
import webpush from 'web-push'
import type { VapidKeys } from '../config.ts'
import type { Logger } from '../log.ts'
import type { Service } from '../service.ts'
import type { ClaimedPush, PushOutcome, Store } from '../store/index.ts'
import { retryDelay } from '../callbacks/retry.ts'
import { leaseUntil } from '../store/lease-rules.ts'
import type { Sender } from '../callbacks/sender.ts'
import { payloadFor, type PushPayload } from './payload.ts'

/** Pushes in flight on this node. */
export const PUSH_IN_FLIGHT = 64
/** How often due jobs are looked for without being woken. */
const POLL_MS = 1000
/** SPEC §10.1: a push service keeps an undelivered notification a day, then drops it. */
export const PUSH_TTL_SECONDS = 86_400

export interface PushObserver {
  attempt(result: 'sent' | 'gone' | 'retry' | 'dropped'): void
}

/** What an attempt's answer means (pure): RFC 8030 §5 and the push services' habits. */
export function pushOutcome (status: number | null): 'sent' | 'gone' | 'retry' {
  if (status !== null && status >= 200 && status < 300) return 'sent'
  // SPEC §10.1: the subscription expired or was revoked.
  if (status === 404 || status === 410) return 'gone'
  return 'retry'
}

export class PushWorker implements Service {
  readonly name = 'push-worker'
  private running = false
  private pollTimer: NodeJS.Timeout | null = null
  private inflight = 0
  private pumping = false
  private again = false
  private readonly sends = new Set<Promise<void>>()

  constructor (
    private readonly store: Store,
    private readonly sender: Sender,
    private readonly vapid: () => VapidKeys,
    private readonly opts: { timeoutMs: number, retryDelaysMs: readonly number[], userAgent: string },
    private readonly observer: PushObserver,
    private readonly log: Logger
  ) {}

  async start (): Promise<void> {
    this.running = true
    this.pollTimer = setInterval(() => this.wake(), POLL_MS)
    this.wake()
  }

  /** Stops claiming and waits for the pushes in flight (each within its time limit). What is left waits in the store. */
  async stop (): Promise<void> {
    this.running = false
    if (this.pollTimer !== null) clearInterval(this.pollTimer)
    await Promise.allSettled([...this.sends])
  }

  wake (): void {
    if (!this.running) return
    if (this.pumping) { this.again = true; return }
    void this.pump()
  }

  private async pump (): Promise<void> {
    this.pumping = true
    try {
      do {
        this.again = false
        const free = PUSH_IN_FLIGHT - this.inflight
        if (free <= 0 || !this.running) break
        const now = this.store.now()
        const jobs = await this.store.claimPushes(this.store.nodeId, now, leaseUntil(now, this.opts.timeoutMs), free)
        for (const job of jobs) this.track(this.send(job))
        if (jobs.length === free) this.again = true
      } while (this.again && this.running)
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'push claim failed; trying again shortly')
    } finally {
      this.pumping = false
    }
  }

  private track (p: Promise<void>): void {
    this.sends.add(p)
    void p.finally(() => this.sends.delete(p))
  }

  private async send (job: ClaimedPush): Promise<void> {
    this.inflight++
    const attempt = job.attempts + 1
    const log = this.log.child({ domainId: job.domainId, userid: job.userid, pushId: job.id, attempt, service: origin(job.endpoint) })
    let o: PushOutcome
    try {
      o = await this.attempt(job, attempt, log)
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'push not sent; given up')
      o = { outcome: 'dropped' }
    }
    try {
      await this.store.finishPush(job.id, this.store.nodeId, o)
      this.observer.attempt(o.outcome)
      // A retry is due later: the poll finds it then.
    } catch (err) {
      // The lease runs out and the push is sent again (at least once).
      log.warn({ err: (err as Error).message }, 'push outcome not recorded')
    } finally {
      this.inflight--
      this.wake()
    }
  }

  private async attempt (job: ClaimedPush, attempt: number, log: Logger): Promise<PushOutcome> {
    if (job.keys === null) return { outcome: 'dropped' } // unsubscribed since it was queued
    // Left over (no node ran for a day): the push service would have dropped it by now too.
    if (this.store.now() - job.createdAt > PUSH_TTL_SECONDS * 1000) {
      log.info('push older than its TTL: dropped')
      return { outcome: 'dropped' }
    }
    const draft = JSON.parse(job.payload) as Omit<PushPayload, 'title'>
    const sender = await this.store.getUser(job.domainId, draft.peer)
    const payload = payloadFor(draft, sender?.name ?? null)
    // web-push makes the RFC 8291 (aes128gcm) body and the RFC 8292 VAPID headers; we send
    // them ourselves, through the callbacks' guarded path (its sendNotification would insist
    // on https and make its own connection, past our address check).
    const details = webpush.generateRequestDetails({ endpoint: job.endpoint, keys: job.keys }, JSON.stringify(payload), {
      vapidDetails: this.vapid(),
      TTL: PUSH_TTL_SECONDS,
      urgency: 'high',
      contentEncoding: 'aes128gcm'
    })
    const headers: Record<string, string> = { 'user-agent': this.opts.userAgent }
    for (const [k, v] of Object.entries(details.headers)) {
      if (k.toLowerCase() !== 'content-length') headers[k.toLowerCase()] = String(v)
    }
    const r = await this.sender.post(origin(job.endpoint), job.endpoint, headers, details.body as Buffer)
    const outcome = pushOutcome(r.status)
    if (outcome === 'sent') {
      log.debug({ status: r.status, durationMs: r.durationMs }, 'push sent')
      return { outcome }
    }
    if (outcome === 'gone') {
      log.info({ status: r.status }, 'push subscription expired or revoked: removed')
      return { outcome }
    }
    const why = r.status === null ? `${r.errorCode}: ${r.errorMessage}` : `HTTP ${r.status} ${(r.responseBody ?? '').slice(0, 200)}`
    const delay = retryDelay(attempt, this.opts.retryDelaysMs, r.retryAfterMs)
    if (delay === null) {
      log.warn({ reason: why }, `push failed ${attempt} times; given up`)
      return { outcome: 'dropped' }
    }
    log.warn({ reason: why, retryInMs: delay }, 'push failed; will retry')
    return { outcome: 'retry', retryAt: this.store.now() + delay }
  }
}

function origin (endpoint: string): string {
  try {
    return new URL(endpoint).origin
  } catch {
    return 'invalid'
  }
}
