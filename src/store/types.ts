// The one storage interface and its row types. Nothing outside store/ knows which database is
// behind it; the conformance suite (test/store.conformance.ts) is what every implementation
// must pass. Implementations import their types from here, never from the factory.

import type { PresenceStatus } from '../../protocol/wire.ts'

export type { PresenceStatus }
export type EventKind = 'presence' | 'messages'
/** SPEC §10.3: who a domain's users may reach: anyone in it, or only their friends. */
export type ContactsMode = 'everyone' | 'friends'

export interface DomainRow {
  id: string
  name: string
  tokenSecret: string
  /** unix ms */
  createdAt: number
  /** messages older than this many days are deleted; 0: the server-wide setting */
  retentionDays: number
  /** browser origins allowed (CORS, MQTT over WebSocket); empty: any */
  allowedOrigins: string[]
  /** SPEC §10.3: with 'friends', users message, call, push and see the presence of their friends only */
  contacts: ContactsMode
}

/** What `PATCH …/domains/{domain}` may change; absent fields are kept. */
export interface DomainPatch {
  name?: string
  retentionDays?: number
  allowedOrigins?: string[]
  contacts?: ContactsMode
}

export interface NewDomain {
  id: string
  name: string
  apiKeyHash: string
  tokenSecret: string
  createdAt: number
}

export interface PresenceRow {
  userid: number
  status: PresenceStatus
  /** unix ms of the last change */
  changedAt: number
}

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

export interface NewMessage {
  domainId: string
  fromUserid: number
  toUserid: number
  type: number
  message: string
  p1: string
  p2: string
  p3: string
  /** unix ms */
  at: number
  /** the uploaded file a message of type 2-4 carries (written, not read back): it is then attached */
  fileId?: string | null
}

export interface MessageRow extends NewMessage {
  id: number
}

/** What the outbox keeps of an event: the exact body the callback will carry. */
export interface EventDraft {
  webhookId: string
  body: string
}

export type EventState = 'pending' | 'held' | 'delivered' | 'failed'

export interface EventRow extends EventDraft {
  id: number
  domainId: string
  kind: EventKind
  /** the ordering key: presence: the user; messages: the sender */
  userid: number
  /** unix ms */
  createdAt: number
  state: EventState
}

export interface CallbackRow {
  domainId: string
  kind: EventKind
  url: string | null
  enabled: boolean
  disabledReason: string | null
  /** unix ms */
  disabledAt: number | null
  signingSecret: string
  previousSecret: string | null
  previousSecretUntil: number | null
  lastSuccessAt: number | null
  lastFailureAt: number | null
}

export interface CallbackPatch {
  url?: string
  enabled?: boolean
  disabledReason?: string | null
  disabledAt?: number | null
  signingSecret?: string
  previousSecret?: string | null
  previousSecretUntil?: number | null
}

/** An event leased to one sender, with what it needs to send it. */
export interface ClaimedEvent {
  id: number
  domainId: string
  kind: EventKind
  userid: number
  webhookId: string
  body: string
  createdAt: number
  /** attempts made before this one */
  attempts: number
  url: string
  /** the signing secret, and the previous one while it still signs */
  secrets: string[]
}

export interface NewLog {
  domainId: string
  kind: EventKind
  eventId: number
  webhookId: string
  at: number
  url: string
  requestHeaders: Record<string, string>
  requestBody: string
  responseStatus: number | null
  responseBody: string | null
  durationMs: number
  error: string | null
  attempt: number
  result: 'ok' | 'failed'
}

export interface LogRow extends NewLog {
  id: number
}

/** How an attempt ended, as the outbox records it. Applied only by the lease holder. */
export interface Completion {
  eventId: number
  nodeId: string
  domainId: string
  kind: EventKind
  userid: number
  /** unix ms */
  at: number
  outcome: 'delivered' | 'retry' | 'failed' | 'disable'
  /** with 'retry' */
  nextAttemptAt?: number
  /** with 'disable' */
  disabledReason?: string
  log: NewLog
}

export interface PresenceChange {
  domainId: string
  userid: number
  status: PresenceStatus
  /** unix ms of the change */
  at: number
  event: EventDraft
}

export interface MessageQuery {
  domainId: string
  /** messages to or from this user; with `peer`, only those between the two */
  userid?: number
  peer?: number
  /** newest first, ids below this */
  before?: number
  /** oldest first, ids above this (catch-up) */
  after?: number
  limit: number
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

/** An uploaded file (SPEC §8): its bytes are in the file storage, this is what we know of them. */
export interface FileRow {
  domainId: string
  id: string
  contentType: string
  /** bytes of the file as stored */
  size: number
  /** bytes of its thumbnail, 0 when it has none */
  thumbnailSize: number
  width: number | null
  height: number | null
  durationMs: number | null
  /** unix ms */
  createdAt: number
  /** unix ms: when a message first carried it; null while none has */
  attachedAt: number | null
}

/** SPEC §10.1: a browser's push subscription (its `PushSubscription` JSON), for one user. */
export interface PushSubscriptionRow {
  domainId: string
  userid: number
  endpoint: string
  /** base64url: the browser's P-256 public key, and its 16-byte auth secret */
  p256dh: string
  auth: string
  /** unix ms */
  createdAt: number
}

/** A push leased to one node, with the keys of its subscription (null: it was removed since). */
export interface ClaimedPush {
  id: number
  domainId: string
  userid: number
  endpoint: string
  /** what the worker makes the notification from (JSON) */
  payload: string
  /** attempts made before this one */
  attempts: number
  createdAt: number
  keys: { p256dh: string, auth: string } | null
}

/** How a push attempt ended: sent, the subscription is gone (404, 410), given up, or again at `retryAt`. */
export type PushOutcome = { outcome: 'sent' | 'gone' | 'dropped' } | { outcome: 'retry', retryAt: number }

export interface Store {
  /** This process's node id: it holds the outbox leases it takes and writes presence. */
  readonly nodeId: string
  /** Applies pending migrations (once, whichever node starts first) and registers the node. */
  open(): Promise<void>
  /**
   * The database's clock, in unix ms, as this node best knows it: leases and back-off due
   * times are compared with it, so nodes whose clocks drift still agree (River and
   * graphile-worker use the database's clock for the same reason).
   */
  now(): number
  /** Present when several nodes may share this store: their one presence (else chat counts in memory). */
  readonly sharedPresence?: SharedPresenceStore
  /** Throws when the database cannot answer. */
  ping(): Promise<void>
  /**
   * Runs a periodic job (retention, …) if no other node sharing the database is running the
   * same one now; answers null when another is. The embedded store has one node: it runs.
   */
  exclusively<T>(job: string, fn: () => Promise<T>): Promise<T | null>
  /** Writes what is queued, then closes. */
  close(): Promise<void>

  createDomain(d: NewDomain): Promise<void>
  getDomain(id: string): Promise<DomainRow | null>
  listDomains(): Promise<DomainRow[]>
  domainIdByKeyHash(apiKeyHash: string): Promise<string | null>
  setDomainKeyHash(id: string, apiKeyHash: string): Promise<void>
  /** Applies the patch; null when there is no such domain. */
  updateDomain(id: string, patch: DomainPatch): Promise<DomainRow | null>

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

  // --- users: profiles, conversations, blocks ---

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

  // --- retention and erasure ---

  /**
   * Retention: deletes the domain's messages older than `olderThanMs`, oldest first, in
   * batches that do not hold the database (or the event loop) for long; conversation rows
   * follow (a conversation with no message left goes, unread counts are recounted). Events
   * already written stay until their own retention. Answers how many messages went.
   */
  pruneMessages(domainId: string, olderThanMs: number): Promise<number>
  /**
   * Erases a user: every message from or to it (in batches), its conversations (and its
   * peers' rows of them), profile, presence, blocks, friendships and push subscriptions; records `at` so that its tokens
   * minted before stop working. Answers how many messages went.
   */
  eraseUser(domainId: string, userid: number, at: number): Promise<number>
  /** When the user was last erased (unix ms), or null. */
  erasedAt(domainId: string, userid: number): Promise<number | null>

  /**
   * The message and its event, in one transaction; `eventFor` builds the event from the row
   * once the id is known. One node's calls commit in the order they were made; across
   * nodes, ids increase in commit order for one sender (its user is locked while its id is
   * taken). A message to a user who blocked its sender is refused with `blocked` (an
   * AppError) and leaves nothing: the block is read in the write's own transaction. So is
   * the domain's `contacts`: with 'friends', a message to a non-friend is refused with
   * `forbidden` and leaves nothing either (a note to self never is).
   */
  appendMessage(m: NewMessage, eventFor: (row: MessageRow) => EventDraft): Promise<MessageRow>
  listMessages(q: MessageQuery): Promise<MessageRow[]>

  listEvents(domainId: string, kind: EventKind, afterId: number, limit: number): Promise<EventRow[]>

  // --- files (SPEC §8) ---

  /** Records an uploaded file (not attached). */
  createFile(f: FileRow): Promise<void>
  getFile(domainId: string, id: string): Promise<FileRow | null>
  /** Bytes of a domain's files with their thumbnails: what its quota counts. */
  storedBytes(domainId: string): Promise<number>
  /**
   * Files no message carries: never attached and uploaded before `unattachedBefore`, or
   * attached once and whose messages are all gone. Up to `limit`, after the key `after`.
   */
  sweepableFiles(unattachedBefore: number, after: { domainId: string, id: string } | null, limit: number): Promise<FileRow[]>
  /**
   * Removes a file's row if it is still sweepable (checked again in the same statement: a
   * message sent meanwhile keeps it). Answers whether it was removed.
   */
  deleteFile(domainId: string, id: string, unattachedBefore: number): Promise<boolean>

  // --- callbacks ---

  /** The callback of a domain and kind; created (off, with `newSecret()`) when missing. */
  getCallback(domainId: string, kind: EventKind, newSecret: () => string): Promise<CallbackRow>
  /** Turning a callback off holds its pending events, in the same transaction. */
  updateCallback(domainId: string, kind: EventKind, patch: CallbackPatch, newSecret: () => string): Promise<CallbackRow>
  countPending(domainId: string, kind: EventKind): Promise<number>
  countPendingByKind(): Promise<Record<EventKind, number>>

  /** Domains that have an event ready to send (head of its user's queue, due, not leased). */
  readyDomains(nowMs: number): Promise<string[]>
  /** Leases up to `limit` ready events of a domain to `nodeId` until `leaseUntil`, oldest first. */
  claimEvents(domainId: string, nodeId: string, nowMs: number, leaseUntil: number, limit: number): Promise<ClaimedEvent[]>
  /**
   * Records an attempt (the log, always) and, if `c.nodeId` still holds the lease on the
   * event's queue, its consequences (event state, callback state), in one transaction.
   * Answers false when the lease was lost (expired and taken by another node): then nothing
   * but the log changed, and the other node's attempt decides. Once it answers, pending
   * events of a callback the attempt switched off are held.
   */
  complete(c: Completion): Promise<boolean>
  /**
   * Frees the leases `nodeId` holds on queues whose head is not one of `keepEventIds` (the
   * events it is still sending or recording): a claim whose answer was lost (the database
   * went away after committing it) left them leased to a node that never got them.
   */
  releaseLeases(nodeId: string, keepEventIds: number[], nowMs: number): Promise<number>
  /**
   * Frees the leases of nodes that are gone (never a live node's), holds what is still pending
   * for a callback that is off, and gives every pending event a queue (a safety net: the
   * outbox is the truth, queues are its index). Safe to run on any node at any time.
   */
  recoverOutbox(nowMs: number): Promise<number>
  /** When the next event in back-off is due (unix ms), if any. */
  nextDueAt(): Promise<number | null>
  /**
   * Queues again every event of a kind since `sinceMs`, in batches that do not hold the
   * database (or the event loop) for long; claims for that callback pause meanwhile, so each
   * user's events still go out oldest first. Answers how many.
   */
  replay(domainId: string, kind: EventKind, sinceMs: number, nowMs: number): Promise<number>

  // --- web push (SPEC §10.1) ---

  /**
   * A server-wide setting: the value kept for `key`, keeping `value` first when there is none.
   * Nodes that start together all answer the first one's (insert-if-absent, then read).
   */
  initSetting(key: string, value: string): Promise<string>
  /**
   * Keeps a subscription for its user (the same endpoint again: renewed, and moved to this
   * user if another had it); beyond `max` a user's oldest go.
   */
  addPushSubscription(s: PushSubscriptionRow, max: number): Promise<void>
  /** Removes the user's subscription with that endpoint (and its pushes); false if it had none. */
  removePushSubscription(domainId: string, userid: number, endpoint: string): Promise<boolean>
  /** The user's subscriptions, oldest first. */
  listPushSubscriptions(domainId: string, userid: number): Promise<PushSubscriptionRow[]>
  /**
   * One push per subscription of the user, due now. A store that counts every node's
   * connections (shared presence) queues nothing while the user has one open anywhere.
   * Answers how many subscriptions the user has and how many pushes were queued.
   */
  queuePush(domainId: string, userid: number, payload: string, at: number): Promise<{ subscriptions: number, queued: number }>
  /** Leases up to `limit` due pushes to `nodeId` until `leaseUntil`, oldest due first. */
  claimPushes(nodeId: string, nowMs: number, leaseUntil: number, limit: number): Promise<ClaimedPush[]>
  /**
   * Records how a push ended, if `nodeId` still holds its lease: sent, dropped or gone
   * remove it (gone removes its subscription too); retry frees it until `retryAt`.
   */
  finishPush(id: number, nodeId: string, o: PushOutcome): Promise<void>
  /** Pushes waiting (metrics, tests). */
  countPushes(): Promise<number>

  listLogs(domainId: string, kind: EventKind, q: { limit: number, result?: 'ok' | 'failed', before?: number }): Promise<LogRow[]>
  /** Retention: keeps the newest `keep` logs per callback and every log newer than `olderThanMs`. */
  pruneLogs(keep: number, olderThanMs: number): Promise<number>
  /** Retention: removes finished (not pending) events older than `olderThanMs`. */
  pruneEvents(olderThanMs: number): Promise<number>
}
