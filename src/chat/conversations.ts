// Conversations, read markers and typing (SPEC §2, §3). A read marker is stored and moves
// only forward; it is told to both users on their `signal` topic (every connection, so
// ticks and unread counts agree across tabs) and changes no callback body (§4 is fixed).
// Typing is relayed, never stored or called back, at most once a second per pair, and not
// to a user who blocked the typist, nor to a non-friend in a friends-only domain (SPEC §10.3).
import type { ReadSignal, TypingSignal } from '../../protocol/wire.ts'
import type { ReadResult, Store } from '../store/index.ts'
import type { Contacts } from './contacts.ts'
import { messageEvent, unixSeconds, type MessageEvent } from './events.ts'
import type { Notifier } from './notifier.ts'
import { userView, type UserView } from './profiles.ts'
import type { SharedTake } from './rate-limit.ts'

export interface ConversationView {
  peer: UserView
  last: MessageEvent | null
  unread: number
  readUpTo: number
  peerReadUpTo: number
}

/** SPEC §3: at most one typing signal a second for a pair of users. */
export const TYPING_MIN_INTERVAL_MS = 1000

export type { ReadSignal, TypingSignal }

/** The error a refused read marker gets, in words a client developer can act on. */
export function readRefusal (r: Extract<ReadResult, { ok: false }>, peer: number, upTo: number): string {
  switch (r.reason) {
    case 'no_conversation': return `there are no messages between you and ${peer}`
    case 'beyond_last': return `up_to ${upTo} is beyond the last message (${r.lastId}) of your conversation with ${peer}`
    case 'backwards': return `up_to ${upTo} is below your read marker (${r.readUpTo}): it only moves forward`
  }
}

export class Conversations {
  /** when the last typing signal of each pair went out (unix ms) */
  private typingSentAt = new Map<string, number>()

  constructor (
    private readonly store: Store,
    private readonly notifier: Notifier,
    private readonly contacts: Contacts,
    /** With several nodes: a token bucket all nodes share (Redis), so the limit is one for all */
    private readonly sharedTake: SharedTake | null = null
  ) {}

  async list (domainId: string, userid: number, q: { limit: number, before?: number }): Promise<ConversationView[]> {
    const rows = await this.store.listConversations(domainId, userid, q)
    return rows.map((c) => ({
      peer: userView(c.peer),
      last: c.last === null ? null : messageEvent(c.last),
      unread: c.unread,
      readUpTo: c.readUpTo,
      peerReadUpTo: c.peerReadUpTo
    }))
  }

  /** Stores the marker; when it moved, signals both users. */
  async read (domainId: string, userid: number, peer: number, upTo: number, nowMs = Date.now()): Promise<ReadResult> {
    const r = await this.store.markRead(domainId, userid, peer, upTo)
    if (r.ok && r.changed) {
      const signal: ReadSignal = { kind: 'read', userid, peer, up_to: upTo, timestamp: unixSeconds(nowMs) }
      const body = JSON.stringify(signal)
      this.notifier.signal(domainId, userid, body)
      if (peer !== userid) this.notifier.signal(domainId, peer, body)
    }
    return r
  }

  /**
   * Relays "userid is typing to `to`", unless one went out for the pair less than a second
   * ago (clients repeat it every few seconds while typing; the receiver lets it lapse after
   * 5 s), `to` blocked userid, or the domain keeps contacts to friends and they are not.
   * Answers whether it was relayed.
   */
  async typing (domainId: string, userid: number, to: number, nowMs = Date.now()): Promise<boolean> {
    const key = `${domainId}/${userid}/${to}`
    const last = this.typingSentAt.get(key)
    if (last !== undefined && nowMs - last < TYPING_MIN_INTERVAL_MS) return false
    this.typingSentAt.set(key, nowMs)
    // A user typing in two tabs on two nodes: the second node's notice is not relayed either
    // (the bucket refills one a second; null: Redis out of reach, the local limit holds).
    if (await this.sharedTake?.(`typing/${key}`, 1000 / TYPING_MIN_INTERVAL_MS, 1) === false) return false
    if (await this.store.isBlocked(domainId, to, userid)) return false
    if (!await this.contacts.mayReach(domainId, userid, to)) return false
    const signal: TypingSignal = { kind: 'typing', from_userid: userid }
    this.notifier.signal(domainId, to, JSON.stringify(signal))
    return true
  }

  /** Forgets pairs quiet for longer than the interval: memory follows who is typing now. */
  /** The user blocks (or unblocks) peer: peer's sends to it are refused, its typing dropped. */
  setBlock (domainId: string, userid: number, peer: number, blocked: boolean, nowMs = Date.now()): Promise<void> {
    return this.store.setBlock(domainId, userid, peer, blocked, nowMs)
  }

  prune (nowMs = Date.now()): void {
    for (const [k, at] of this.typingSentAt) if (nowMs - at >= TYPING_MIN_INTERVAL_MS) this.typingSentAt.delete(k)
  }
}
