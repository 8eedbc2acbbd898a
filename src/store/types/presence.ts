// The presence family: each user's row (SPEC §3), its changes with their events, and the
// presence several nodes share.
import type { PresenceStatus } from '../../../protocol/wire.ts'
import type { EventDraft } from './outbox.ts'

export type { PresenceStatus }

export interface PresenceRow {
  userid: number
  status: PresenceStatus
  /** unix ms of the last change */
  changedAt: number
}

export interface PresenceChange {
  domainId: string
  userid: number
  status: PresenceStatus
  /** unix ms of the change */
  at: number
  event: EventDraft
}

/**
 * Presence shared by several nodes (stores that several nodes can share: PostgreSQL). Each
 * node counts its own sockets per user; a user is present while any node has one. Every
 * transition re-checks its condition under the user's row lock, so it happens once.
 */
export interface SharedPresenceStore {
  /** A socket opened here; true when the user came online (with `event`). */
  connect(domainId: string, userid: number, at: number, event: EventDraft): Promise<boolean>
  /** A socket closed here; its last anywhere: the user is due offline at `dueAt` (unix ms, database clock). */
  disconnect(domainId: string, userid: number, dueAt: number): Promise<void>
  /** The user's own status, while it has a socket somewhere; true when changed (with `event`). */
  setStatus(domainId: string, userid: number, status: Exclude<PresenceStatus, 'offline'>, at: number, event: EventDraft): Promise<boolean>
  /** Offline at `at` if it has no socket anywhere (and, with `dueOnly`, its grace ran out); true when changed. */
  offline(domainId: string, userid: number, at: number, dueOnly: boolean, event: EventDraft): Promise<boolean>
  /** Reaps nodes that are gone (their sockets with them); answers the users who should now go offline. */
  due(): Promise<Array<{ domainId: string, userid: number, dueAt: number | null }>>
  /** This node's sockets as it counts them, written anew (after a write was lost). */
  resync(counts: Array<{ domainId: string, userid: number, sockets: number }>): Promise<void>
  /** This node stops: its sockets are gone. */
  leave(): Promise<void>
  /** Nodes alive now. */
  countNodes(): Promise<number>
}

export interface PresenceStore {
  /** Present when several nodes may share this store: their one presence (else chat counts in memory). */
  readonly sharedPresence?: SharedPresenceStore

  /** A user exists once it has a token: gives it an `offline` presence row if it has none. */
  ensureUser(domainId: string, userid: number, at: number): Promise<void>
  getPresence(domainId: string, userid: number): Promise<PresenceRow | null>
  listPresence(domainId: string, status?: PresenceStatus): Promise<PresenceRow[]>
  /** The domain's users whose status is not `offline`, by userid: retained presence on the
   *  wildcard (SPEC §3), which must not grow with every user who ever existed. */
  listPresent(domainId: string): Promise<PresenceRow[]>
  /**
   * Users left present by a node that is gone (a crash, a kill): their last known status is
   * not `offline` and the node that wrote it is no longer alive. Never users of a live node.
   */
  listOrphanedPresence(): Promise<Array<PresenceRow & { domainId: string }>>
  /**
   * The presence row and its event, in one transaction. Writes of different calls may commit
   * in any order: a caller that needs one user's changes in order waits for each before the
   * next (chat/ chains them per user).
   */
  changePresence(change: PresenceChange): Promise<void>
}
