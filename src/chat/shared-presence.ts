// Presence across several nodes (SPEC §3, §6), for stores that several nodes share. The same
// rules as the in-memory Presence, but the count of sockets and the grace time live in the
// store, so a user with tabs on two nodes is one presence, and a user whose node dies still
// goes offline (one event), on the surviving nodes' initiative.
import type { Logger } from '../log.ts'
import type { PresenceStatus, SharedPresenceStore, Store } from '../store/index.ts'
import { presenceEvent } from './events.ts'
import { newWebhookId } from './ids.ts'
import type { Notifier } from './notifier.ts'
import type { PresenceTracker } from './presence.ts'
import type { KeyedSerial } from './serial.ts'

/** How often every node looks for users whose grace ran out and nodes that are gone. */
export const PRESENCE_SWEEP_MS = 2_000

const key = (domainId: string, userid: number): string => `${domainId}/${userid}`

export class SharedPresence implements PresenceTracker {
  /** this node's sockets per user */
  private readonly sockets = new Map<string, { domainId: string, userid: number, n: number }>()
  private readonly writes = new Set<Promise<unknown>>()
  private sweepTimer: NodeJS.Timeout | null = null
  /** a write was lost (database unreachable): this node's counts are written anew */
  private stale = false
  private sweeping = false

  constructor (
    private readonly store: Store,
    private readonly shared: SharedPresenceStore,
    private readonly notifier: Notifier,
    private readonly graceMs: number,
    private readonly log: Logger,
    private readonly userWrites: KeyedSerial
  ) {}

  async recover (): Promise<number> {
    const n = await this.sweep()
    this.sweepTimer = setInterval(() => { void this.sweep() }, PRESENCE_SWEEP_MS)
    this.sweepTimer.unref()
    return n
  }

  connected (domainId: string, userid: number): void {
    const k = key(domainId, userid)
    const s = this.sockets.get(k) ?? { domainId, userid, n: 0 }
    s.n++
    this.sockets.set(k, s)
    const ev = this.event(userid, 'online', Date.now())
    this.run(domainId, userid, ev.body, () => this.shared.connect(domainId, userid, ev.at, ev))
  }

  disconnected (domainId: string, userid: number): void {
    const k = key(domainId, userid)
    const s = this.sockets.get(k)
    if (s === undefined) return
    if (--s.n === 0) this.sockets.delete(k)
    const leftAt = Date.now()
    const due = this.store.now() + this.graceMs
    this.track(this.userWrites.run(k, () => this.shared.disconnect(domainId, userid, due)).then(() => {
      // The grace time is kept by the store; this node honours it on time, any node later.
      if (this.sockets.has(k)) return
      const timer = setTimeout(() => {
        const ev = this.event(userid, 'offline', leftAt)
        this.run(domainId, userid, ev.body, () => this.shared.offline(domainId, userid, leftAt, true, ev))
      }, this.graceMs + 20)
      timer.unref()
    }, (err) => this.lost(err, 'disconnect')))
  }

  async setStatus (domainId: string, userid: number, status: Exclude<PresenceStatus, 'offline'>): Promise<void> {
    if (!this.sockets.has(key(domainId, userid))) return
    const ev = this.event(userid, status, Date.now())
    await this.run(domainId, userid, ev.body, () => this.shared.setStatus(domainId, userid, status, ev.at, ev))
  }

  /** A clean stop: this node's sockets are gone; its users with none elsewhere go offline now. */
  async stop (): Promise<void> {
    if (this.sweepTimer !== null) clearInterval(this.sweepTimer)
    await Promise.allSettled([...this.writes])
    const users = [...this.sockets.values()]
    this.sockets.clear()
    try {
      await this.shared.leave()
      const now = Date.now()
      await Promise.all(users.map((u) => this.offlineNow(u.domainId, u.userid, now, false)))
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'presence not written at stop; other nodes will reap it')
    }
  }

  /** This node was taken for gone: its users were sent offline; its sockets must reconnect. */
  forget (): void {
    this.sockets.clear()
  }

  connectedHere (domainId: string, userid: number): boolean {
    return this.sockets.has(key(domainId, userid))
  }

  get size (): number {
    return this.sockets.size
  }

  /**
   * Users whose grace ran out, and users present with no socket anywhere (their node is gone),
   * go offline; one event each, whichever node gets there first.
   */
  private async sweep (): Promise<number> {
    if (this.sweeping) return 0
    this.sweeping = true
    try {
      if (this.stale) {
        await this.shared.resync([...this.sockets.values()].map((s) => ({ domainId: s.domainId, userid: s.userid, sockets: s.n })))
        this.stale = false
      }
      const due = await this.shared.due()
      const now = Date.now()
      const done = await Promise.all(due.map((u) =>
        this.offlineNow(u.domainId, u.userid, u.dueAt === null ? now : u.dueAt - this.graceMs, u.dueAt !== null)))
      return done.filter(Boolean).length
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'presence sweep failed')
      return 0
    } finally {
      this.sweeping = false
    }
  }

  private async offlineNow (domainId: string, userid: number, at: number, dueOnly: boolean): Promise<boolean> {
    const event = this.event(userid, 'offline', at)
    const changed = await this.userWrites.run(key(domainId, userid), () => this.shared.offline(domainId, userid, at, dueOnly, event))
    if (changed) this.notifier.presenceChanged(domainId, userid, event.body).catch((err) => this.log.warn({ err: (err as Error).message }, 'presence change not published'))
    return changed
  }

  /** A user's write, in turn; once committed, its change is published (retained topic). */
  /** Writes a change; once committed, publishes it. Resolves then (also when it was lost). */
  private run (domainId: string, userid: number, body: string, write: () => Promise<boolean>): Promise<void> {
    const p = this.userWrites.run(key(domainId, userid), write).then(async (changed) => {
      if (changed) await this.notifier.presenceChanged(domainId, userid, body)
    }, (err) => this.lost(err, body))
    this.track(p)
    return p
  }

  private event (userid: number, status: PresenceStatus, at: number): { webhookId: string, body: string, at: number } {
    return { webhookId: newWebhookId(at), body: JSON.stringify(presenceEvent(userid, status, at)), at }
  }

  private lost (err: unknown, what: string): void {
    this.stale = true
    this.log.error({ err: (err as Error).message, what }, 'presence change not saved; this node\'s sockets will be counted again')
  }

  private track (p: Promise<unknown>): void {
    this.writes.add(p)
    void p.finally(() => this.writes.delete(p))
  }
}
