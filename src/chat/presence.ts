// Presence (SPEC §3): a user is online while at least one of its connections is open; it goes
// offline when the last one closes and stays closed past the grace time (a reload or a
// navigation is not a presence change). A status set by the user holds until changed or
// until offline. Only a real change writes an event.
import type { Logger } from '../log.ts'
import type { PresenceStatus, Store } from '../store/index.ts'
import { presenceEvent } from './events.ts'
import { newWebhookId } from './ids.ts'
import type { Notifier } from './notifier.ts'
import type { KeyedSerial } from './serial.ts'

interface UserState {
  domainId: string
  userid: number
  connections: number
  status: PresenceStatus
  graceTimer: NodeJS.Timeout | null
  /** when the last connection closed (unix ms): the offline event's time */
  leftAt: number
  /** the last change's write and publication: a repeat of the same status waits for it */
  last: Promise<void>
}

const key = (domainId: string, userid: number): string => `${domainId}/${userid}`

/** What the transports tell presence, and what chat asks of it; one node or several. */
export interface PresenceTracker {
  /** Users left present by a node that is gone go offline; answers how many. */
  recover(): Promise<number>
  connected(domainId: string, userid: number): void
  disconnected(domainId: string, userid: number): void
  /** Resolves once the change is published (or found not to be one): the PUBACK waits for it. */
  setStatus(domainId: string, userid: number, status: Exclude<PresenceStatus, 'offline'>): Promise<void>
  stop(): Promise<void>
  /** This node was taken for gone: forget its sockets (they are being closed). */
  forget(): void
  /** Has the user a connection open to this node now (not counting its grace time)? */
  connectedHere(domainId: string, userid: number): boolean
  readonly size: number
}

/** Presence counted in this process's memory: one node (the embedded store). */
export class Presence implements PresenceTracker {
  /** Users with a connection here or within their grace time. Offline users are not kept. */
  private users = new Map<string, UserState>()
  private writes = new Set<Promise<void>>()

  constructor (
    private readonly store: Store,
    private readonly notifier: Notifier,
    private readonly graceMs: number,
    private readonly log: Logger,
    private readonly userWrites: KeyedSerial
  ) {}

  /**
   * A user the database still shows as present through a node that is gone (a crash) goes
   * offline now, with its event. Users of live nodes are theirs to keep.
   */
  async recover (nowMs = Date.now()): Promise<number> {
    const stale = await this.store.listOrphanedPresence()
    await Promise.all(stale.map((p) => this.write(p.domainId, p.userid, 'offline', nowMs)))
    return stale.length
  }

  connected (domainId: string, userid: number): void {
    const k = key(domainId, userid)
    let u = this.users.get(k)
    if (u === undefined) {
      u = { domainId, userid, connections: 0, status: 'offline', graceTimer: null, leftAt: 0, last: Promise.resolve() }
      this.users.set(k, u)
    }
    u.connections++
    if (u.graceTimer !== null) {
      // Back within the grace time: no change, the status set before holds.
      clearTimeout(u.graceTimer)
      u.graceTimer = null
    }
    if (u.status === 'offline') this.change(u, 'online', Date.now())
  }

  disconnected (domainId: string, userid: number): void {
    const k = key(domainId, userid)
    const u = this.users.get(k)
    if (u === undefined || u.connections === 0) return
    u.connections--
    if (u.connections > 0) return
    u.leftAt = Date.now()
    u.graceTimer = setTimeout(() => {
      u.graceTimer = null
      this.users.delete(k)
      this.change(u, 'offline', u.leftAt)
    }, this.graceMs)
  }

  /** The user's own status (`online`, `away`, `busy`); only while connected. */
  async setStatus (domainId: string, userid: number, status: Exclude<PresenceStatus, 'offline'>): Promise<void> {
    const u = this.users.get(key(domainId, userid))
    if (u === undefined || u.connections === 0) return
    // The same status again is no change, but its PUBACK still follows the change's publication.
    if (u.status === status) return await u.last
    await this.change(u, status, Date.now())
  }

  /** On shutdown every user here goes offline now, each with its event, all written. */
  async stop (): Promise<void> {
    const now = Date.now()
    for (const u of this.users.values()) {
      if (u.graceTimer !== null) clearTimeout(u.graceTimer)
      this.change(u, 'offline', u.connections > 0 ? now : u.leftAt)
    }
    this.users.clear()
    await Promise.all(this.writes)
  }

  forget (): void {}

  connectedHere (domainId: string, userid: number): boolean {
    return (this.users.get(key(domainId, userid))?.connections ?? 0) > 0
  }

  /** How many users are online (any status but offline) here. */
  get size (): number {
    return this.users.size
  }

  private change (u: UserState, status: PresenceStatus, at: number): Promise<void> {
    u.status = status
    const p = this.write(u.domainId, u.userid, status, at)
    u.last = p
    this.writes.add(p)
    void p.finally(() => this.writes.delete(p))
    return p
  }

  /** Writes the change with its event; once committed, publishes it (retained topic). */
  private async write (domainId: string, userid: number, status: PresenceStatus, at: number): Promise<void> {
    const body = JSON.stringify(presenceEvent(userid, status, at))
    try {
      // One user's changes are written in the order they happened (their events go out so).
      await this.userWrites.run(key(domainId, userid), () =>
        this.store.changePresence({ domainId, userid, status, at, event: { webhookId: newWebhookId(at), body } }))
      await this.notifier.presenceChanged(domainId, userid, body)
    } catch (err) {
      this.log.error({ err, domainId, userid, status }, 'presence change not saved')
    }
  }
}
