// The one storage interface. Nothing outside store/ knows which database is behind it; the
// conformance suite (test/store.conformance.ts) is what every implementation must pass.
import type { Config } from '../config.ts'
import type { Logger } from '../log.ts'
import { SqliteStore } from './sqlite/index.ts'

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

export interface EventRow extends EventDraft {
  id: number
  domainId: string
  kind: EventKind
  /** the ordering key: presence: the user; messages: the sender */
  userid: number
  /** unix ms */
  createdAt: number
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
}

export function createStore (config: Config, log: Logger): Store {
  // MQCHAT_DATABASE_URL (PostgreSQL) is refused by config.ts until its store lands.
  return new SqliteStore(config.dataDir, log.child({ module: 'store' }))
}
