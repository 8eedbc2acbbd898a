// The people family: profiles, conversations and read markers, blocks, friends, erasure
// (SPEC §2, §3, §10.3).
import type { MessageRow } from './messages.ts'
import type { PresenceRow, PresenceStatus } from './presence.ts'

/** A user's profile fields: a string sets, null clears, absent keeps. */
export interface ProfilePatch {
  name?: string | null
  avatar?: string | null
  link?: string | null
}

/** A user: its presence row and its profile. */
export interface UserRow extends PresenceRow {
  name: string | null
  avatar: string | null
  link: string | null
}

export interface UserQuery {
  status?: PresenceStatus
  /** userids above this */
  after?: number
  limit: number
}

/** One of a user's conversations, as its list shows it. */
export interface ConversationRow {
  /** the peer (offline with changedAt 0 if it never had a presence row) */
  peer: UserRow
  /** the newest message between the two (either direction) */
  last: MessageRow | null
  /** the peer's messages to the user above `readUpTo` */
  unread: number
  readUpTo: number
  /** how far the peer has read the user's messages */
  peerReadUpTo: number
}

export type ReadResult =
  | { ok: true, changed: boolean, readUpTo: number, unread: number }
  | { ok: false, reason: 'no_conversation' | 'beyond_last' | 'backwards', readUpTo: number, lastId: number }

export interface PeopleStore {
  /** Creates the user if needed (offline) and applies the profile patch. */
  setProfile(domainId: string, userid: number, patch: ProfilePatch, at: number): Promise<void>
  /** The user (presence and profile); null if it does not exist. */
  getUser(domainId: string, userid: number): Promise<UserRow | null>
  /** Users by userid, ascending. */
  listUsers(domainId: string, q: UserQuery): Promise<UserRow[]>
  /**
   * The user's conversations, most recent first (by their last message id), below `before`
   * when given. Kept in a table updated with each message: the cost is the page, never the
   * history.
   */
  listConversations(domainId: string, userid: number, q: { limit: number, before?: number }): Promise<ConversationRow[]>
  /**
   * Moves the user's read marker of its conversation with `peer` to `upTo`, only forward
   * and never beyond the conversation's last message; answers the new marker and unread count.
   */
  markRead(domainId: string, userid: number, peer: number, upTo: number): Promise<ReadResult>
  /** `userid` blocks (blocked=false: unblocks) `peer`. */
  setBlock(domainId: string, userid: number, peer: number, blocked: boolean, at: number): Promise<void>
  /** Has `userid` blocked `peer`? */
  isBlocked(domainId: string, userid: number, peer: number): Promise<boolean>
  /**
   * Friendship is mutual (SPEC §10.3): both directions are written (friends=false: removed)
   * in one transaction. Setting what already holds changes nothing.
   */
  setFriend(domainId: string, userid: number, peer: number, friends: boolean, at: number): Promise<void>
  /** The user's friends with their profile and presence (offline since 0 if they never had any), by userid. */
  listFriends(domainId: string, userid: number): Promise<UserRow[]>
  areFriends(domainId: string, userid: number, peer: number): Promise<boolean>

  /**
   * Erases a user: every message from or to it (in batches), its conversations (and its
   * peers' rows of them), profile, presence, blocks, friendships and push subscriptions; records `at` so that its tokens
   * minted before stop working. Answers how many messages went.
   */
  eraseUser(domainId: string, userid: number, at: number): Promise<number>
  /** When the user was last erased (unix ms), or null. */
  erasedAt(domainId: string, userid: number): Promise<number | null>
}
