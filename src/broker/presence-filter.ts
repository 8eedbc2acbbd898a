// SPEC §10.3: in a domain whose contacts are friends, a user sees only its friends' presence,
// on one user's topic (the SUBSCRIBE is refused) and on the wildcard (each other user's
// presence is dropped on its way to that subscriber: aedes's authorizeForward, which retained
// presence passes through too). The decision is synchronous, so this node keeps, for each
// user connected here, its friends' ids, read when it connects (before its CONNACK) and read
// again when the chat service says its friendships or its domain's setting changed (on every
// node: the Notifier travels on the cluster bus). Until a user's set is read, it sees nobody's.
import type { Logger } from '../log.ts'
import type { ContactsMode } from '../store/index.ts'

interface Entry {
  /** this user's connections on this node */
  refs: number
  /** its friends; null until read (or while its domain is open to everyone) */
  friends: Set<number> | null
  /** bumped by each read: only the newest one's answer is kept */
  reads: number
}

export class PresenceFilter {
  /** each domain's setting, as this node last learnt it */
  private readonly modes = new Map<string, ContactsMode>()
  /** users connected here, by `domain/userid` */
  private readonly users = new Map<string, Entry>()
  /** bumped by each change of setting, so that a connect's older read does not undo it */
  private changes = 0

  constructor (
    private readonly friendIds: (domainId: string, userid: number) => Promise<number[]>,
    private readonly log: Logger,
    /** Friends this user connected here gained (not at its connect): their presence is due to it now, as on subscribing. */
    private readonly gained: (domainId: string, userid: number, friends: number[]) => void = () => {}
  ) {}

  /** Before a CONNECT is accepted: `mode` as the connect read it when `changesSeen` was `changes`. `disconnected` undoes it. */
  async connected (domainId: string, userid: number, mode: ContactsMode, changesSeen: number): Promise<void> {
    if (this.changes === changesSeen || !this.modes.has(domainId)) this.modes.set(domainId, mode)
    const key = `${domainId}/${userid}`
    let e = this.users.get(key)
    if (e === undefined) this.users.set(key, e = { refs: 0, friends: null, reads: 0 })
    e.refs++
    if (this.modes.get(domainId) === 'friends' && e.friends === null) await this.read(domainId, userid, e, false)
  }

  /**
   * Once for each `connected` (its connection closed). A method, not a closure handed back
   * by `connected`: that was one closure and one key string per connection (issue 17).
   */
  disconnected (domainId: string, userid: number): void {
    const key = `${domainId}/${userid}`
    const e = this.users.get(key)
    if (e !== undefined && --e.refs === 0) this.users.delete(key)
  }

  /** What a connect notes before reading its domain (see `connected`). */
  get changeCount (): number {
    return this.changes
  }

  /** May `me` see the presence of `other`? */
  allows (domainId: string, me: number, other: number): boolean {
    if (me === other || this.modes.get(domainId) !== 'friends') return true
    return this.users.get(`${domainId}/${me}`)?.friends?.has(other) === true
  }

  /** Whether presence in this domain is filtered at all (the hot path asks first). */
  filters (domainId: string): boolean {
    return this.modes.get(domainId) === 'friends'
  }

  /** These users' friendships changed: those connected here read theirs again. */
  async friendsChanged (domainId: string, userids: number[]): Promise<void> {
    if (this.modes.get(domainId) !== 'friends') {
      // Open to everyone: nothing is filtered; a set read before would be stale, forget it.
      for (const u of userids) { const e = this.users.get(`${domainId}/${u}`); if (e !== undefined) { e.friends = null; e.reads++ } }
      return
    }
    await Promise.all(userids.map((u) => {
      const e = this.users.get(`${domainId}/${u}`)
      return e === undefined ? undefined : this.read(domainId, u, e)
    }))
  }

  /** The domain's setting changed: with friends, every user of it connected here reads its friends. */
  async contactsChanged (domainId: string, mode: ContactsMode): Promise<void> {
    this.changes++
    this.modes.set(domainId, mode)
    const prefix = `${domainId}/`
    const reads: Array<Promise<void>> = []
    for (const [key, e] of this.users) {
      if (!key.startsWith(prefix)) continue
      if (mode === 'friends') reads.push(this.read(domainId, Number(key.slice(prefix.length)), e))
      else { e.friends = null; e.reads++ }
    }
    await Promise.all(reads)
  }

  private async read (domainId: string, userid: number, e: Entry, tell = true): Promise<void> {
    const n = ++e.reads
    try {
      const ids = await this.friendIds(domainId, userid)
      if (e.reads !== n) return
      const before = e.friends
      e.friends = new Set(ids)
      // A friendship made while the user watches: what it would have got on subscribing.
      // (A friendship ended takes nothing back: the client keeps the last status it saw.)
      const added = before === null ? [] : ids.filter((id) => !before.has(id))
      if (tell && added.length > 0) this.gained(domainId, userid, added)
    } catch (err) {
      // Kept as it was (or nobody, if never read): never more than the user's friends.
      this.log.warn({ err, domainId, userid }, 'friends not read: presence filter kept as it was')
    }
  }
}
