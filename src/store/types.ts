// The one storage interface and its row types. Nothing outside store/ knows which database is
// behind it; the conformance suite (test/store.conformance.ts) is what every implementation
// must pass. Implementations import their types from here, never from the factory.

export type PresenceStatus = 'online' | 'away' | 'busy' | 'offline'
export type EventKind = 'presence' | 'messages'

export interface DomainRow {
  id: string
  name: string
  tokenSecret: string
  /** unix ms */
  createdAt: number
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

export interface Store {
  readonly kind: 'sqlite' | 'postgres'
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
  /** Throws when the database cannot answer. */
  ping(): Promise<void>
  /** Writes what is queued, then closes. */
  close(): Promise<void>

  createDomain(d: NewDomain): Promise<void>
  getDomain(id: string): Promise<DomainRow | null>
  listDomains(): Promise<DomainRow[]>
  domainIdByKeyHash(apiKeyHash: string): Promise<string | null>
  setDomainKeyHash(id: string, apiKeyHash: string): Promise<void>

  /** A user exists once it has a token: gives it an `offline` presence row if it has none. */
  ensureUser(domainId: string, userid: number, at: number): Promise<void>
  getPresence(domainId: string, userid: number): Promise<PresenceRow | null>
  listPresence(domainId: string, status?: PresenceStatus): Promise<PresenceRow[]>
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

  /**
   * The message and its event, in one transaction; `eventFor` builds the event from the row
   * once the id is known. Ids increase in commit order for one sender (its user is locked
   * while its id is taken); the caller chains one sender's calls as above.
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

  listLogs(domainId: string, kind: EventKind, q: { limit: number, result?: 'ok' | 'failed', before?: number }): Promise<LogRow[]>
  /** Retention: keeps the newest `keep` logs per callback and every log newer than `olderThanMs`. */
  pruneLogs(keep: number, olderThanMs: number): Promise<number>
  /** Retention: removes finished (not pending) events older than `olderThanMs`. */
  pruneEvents(olderThanMs: number): Promise<number>
}
