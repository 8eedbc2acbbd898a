// The one storage interface. Nothing outside store/ knows which database is behind it; the
// conformance suite (test/store.conformance.ts) is what every implementation must pass.
import type { Config } from '../config.ts'
import type { Logger } from '../log.ts'
import { SqliteStore } from './sqlite/index.ts'

export { activeSecrets } from './secrets.ts'

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

export interface Store {
  readonly kind: 'sqlite' | 'postgres'
  /** Applies pending migrations. */
  open(): Promise<void>
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
  /** The domain's users whose status is not `offline`, by userid: retained presence on the
   *  wildcard (SPEC §3), which must not grow with every user who ever existed. */
  listPresent(domainId: string): Promise<PresenceRow[]>
  /** Every user, in every domain, whose last known status is not `offline`. */
  listActivePresence(): Promise<Array<PresenceRow & { domainId: string }>>
  /** The presence row and its event, in one transaction. Calls complete in call order. */
  changePresence(change: PresenceChange): Promise<void>

  /**
   * The message and its event, in one transaction; `eventFor` builds the event from the row
   * once the id is known. Calls complete in call order.
   */
  appendMessage(m: NewMessage, eventFor: (row: MessageRow) => EventDraft): Promise<MessageRow>
  listMessages(q: MessageQuery): Promise<MessageRow[]>

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
  /** Records an attempt and its consequences (event state, callback state, log), in one transaction. */
  complete(c: Completion): Promise<void>
  /**
   * A single node at start-up: frees every lease (whoever held them is gone) and gives every
   * pending event a queue (a safety net: the outbox is the truth, queues are its index).
   */
  recoverOutbox(nowMs: number): Promise<number>
  /** When the next event in back-off is due (unix ms), if any. */
  nextDueAt(): Promise<number | null>
  /** Queues again every event of a kind since `sinceMs`; answers how many. */
  replay(domainId: string, kind: EventKind, sinceMs: number, nowMs: number): Promise<number>

  listLogs(domainId: string, kind: EventKind, q: { limit: number, result?: 'ok' | 'failed', before?: number }): Promise<LogRow[]>
  /** Retention: keeps the newest `keep` logs per callback and every log newer than `olderThanMs`. */
  pruneLogs(keep: number, olderThanMs: number): Promise<number>
  /** Retention: removes finished (not pending) events older than `olderThanMs`. */
  pruneEvents(olderThanMs: number): Promise<number>
}

export function createStore (config: Config, log: Logger): Store {
  // MQCHAT_DATABASE_URL (PostgreSQL) is refused by config.ts until its store lands.
  return new SqliteStore(config.dataDir, log.child({ module: 'store' }))
}
