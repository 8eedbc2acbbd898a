// The outbox family: events, callbacks, claims with their leases, completions, replay, logs
// and their retention.

export type EventKind = 'presence' | 'messages'

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
  /**
   * With 'delivered' or 'failed': the sender can send the user's next event at once. If there
   * is one and its callback may send now (on, not paused by a replay), the queue stays leased
   * to `nodeId` until then and the answer carries that event, so it needs no claim of its own.
   */
  chainUntil?: number
  log: NewLog
}

/** What recording an attempt answers. */
export interface Completed {
  /** false: the lease was lost, and only the log changed */
  held: boolean
  /** the user's next event, leased to the same node, when the completion asked (chainUntil) */
  next: ClaimedEvent | null
}

export interface OutboxStore {
  listEvents(domainId: string, kind: EventKind, afterId: number, limit: number): Promise<EventRow[]>

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
  complete(c: Completion): Promise<Completed>
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

  listLogs(domainId: string, kind: EventKind, q: { limit: number, result?: 'ok' | 'failed', before?: number }): Promise<LogRow[]>
  /** Retention: keeps the newest `keep` logs per callback and every log newer than `olderThanMs`. */
  pruneLogs(keep: number, olderThanMs: number): Promise<number>
  /** Retention: removes finished (not pending) events older than `olderThanMs`. */
  pruneEvents(olderThanMs: number): Promise<number>
}
