// The PostgreSQL store (MQCHAT_DATABASE_URL): everything the embedded store does, on a
// database that several nodes share. Leases and due times follow the database's clock;
// each node registers itself (nodes) and renews its row, so the others can tell when it is gone.
// This class is the lifecycle and the wiring: each family's SQL is a file of its own
// (domains.ts, presence.ts, people.ts, messages.ts with writer.ts, files.ts, push.ts,
// outbox.ts); here each Store method is one line handing over to its family.
import pg from 'pg'
import { SetupError } from '../../errors.ts'
import type { Logger } from '../../log.ts'
import type {
  CallbackPatch, CallbackRow, ClaimedEvent, Completed, Completion, ConversationRow, DomainPatch, DomainRow, EventDraft, EventKind, EventRow, FileRow, LogRow,
  MessageQuery, MessageRow, NewDomain, NewMessage, PresenceChange, PresenceRow, PresenceStatus, ProfilePatch, ReadResult, Store, UserQuery, UserRow,
  ClaimedPush, PushOutcome, PushSubscriptionRow
} from '../types.ts'
import { DomainsPg } from './domains.ts'
import { FilesPg } from './files.ts'
import { MessagesPg } from './messages.ts'
import { PeoplePg } from './people.ts'
import { isUnavailable, unavailable } from './errors.ts'
import { migrate } from './migrate.ts'
import { OutboxPg } from './outbox.ts'
import { PgPresence, PresenceRowsPg } from './presence.ts'
import { PushPg } from './push.ts'
import { transaction } from './tx.ts'
import { Writer } from './writer.ts'

/** Messages removed in one batch (retention, erasure): one short transaction each. */
const MESSAGE_BATCH = 2000
const MIGRATIONS_DIR = new URL('./migrations/', import.meta.url)
/** A node renews its row four times per liveness limit (MQCHAT_NODE_TTL_MS, default 20 s). */
const DEFAULT_NODE_TTL_MS = 20_000
const HEARTBEATS_PER_TTL = 4
/** Rows of nodes gone this long are removed. */
const NODE_ROW_KEEP_MS = 24 * 3600 * 1000
/** A statement that takes longer than this fails (a database that went silent). */
const QUERY_TIMEOUT_MS = 10_000
const CONNECT_TIMEOUT_MS = 5_000

// bigint columns hold ids and unix ms, all below 2^53: read them as numbers.
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === pg.types.builtins.INT8 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser
}


export class PostgresStore implements Store {
  private readonly pool: pg.Pool
  private readonly writer: Writer
  /** the database's clock minus ours, in ms */
  private clockOffsetMs = 0
  private heartbeat: NodeJS.Timeout | null = null
  private readonly domains = new DomainsPg((sql, params) => this.q(sql, params))
  private readonly presence = new PresenceRowsPg((sql, params) => this.q(sql, params), () => this.now())
  private readonly people = new PeoplePg((sql, params) => this.q(sql, params), (fn) => this.tx(fn))
  private readonly messages = new MessagesPg((sql, params) => this.q(sql, params))
  private readonly files = new FilesPg((sql, params) => this.q(sql, params))
  private readonly push = new PushPg((sql, params) => this.q(sql, params), (fn) => this.tx(fn))
  private readonly outbox: OutboxPg
  readonly sharedPresence: PgPresence

  constructor (url: string, poolSize: number, readonly nodeId: string, private readonly log: Logger, private readonly nodeTtlMs = DEFAULT_NODE_TTL_MS,
    /** this node finds it was taken for gone (see createStore) */
    private readonly onReaped: () => void = () => {}) {
    this.pool = new pg.Pool({
      connectionString: url,
      max: poolSize,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      query_timeout: QUERY_TIMEOUT_MS,
      keepAlive: true,
      application_name: 'mqchat',
      types
    })
    // An idle connection the database dropped: the pool replaces it. Not a crash (SPEC §6).
    this.pool.on('error', (err) => this.log.warn({ err: err.message }, 'database connection lost'))
    // A connection checked out but between two statements when it drops emits 'error' with
    // nobody listening, which would end the process: each connection gets a listener of its
    // own (the next statement on it then fails, and the caller answers `unavailable`).
    this.pool.on('connect', (client) => client.on('error', (err) => this.log.debug({ err: err.message }, 'database connection lost mid-use')))
    this.writer = new Writer(this.pool, nodeId, () => this.now())
    this.outbox = new OutboxPg(this.pool, (sql, params) => this.q(sql, params), (fn) => this.tx(fn), nodeId, () => this.now())
    this.sharedPresence = new PgPresence(this.pool, nodeId, () => this.now(), (n) => this.log.warn({ nodes: n }, 'nodes that stopped answering were reaped'))
  }

  async open (): Promise<void> {
    const client = await this.pool.connect().catch((err) => { throw new SetupError(`MQCHAT_DATABASE_URL: cannot connect to PostgreSQL: ${(err as Error).message}`, err) })
    try {
      const applied = await migrate(client, MIGRATIONS_DIR)
      if (applied.length > 0) this.log.info({ applied }, 'database migrated')
    } finally {
      client.release()
    }
    await this.syncClock()
    await this.q('INSERT INTO nodes (id, started_at, alive_until) VALUES ($1, $2, $3)', [this.nodeId, this.now(), this.now() + this.nodeTtlMs])
    this.heartbeat = setInterval(() => { void this.beat() }, this.nodeTtlMs / HEARTBEATS_PER_TTL).unref()
  }

  now (): number {
    return Date.now() + this.clockOffsetMs
  }

  /**
   * A session advisory lock named after the job, held on a connection of its own while the
   * job runs: another node that asks meanwhile skips its turn. A node that dies loses its
   * session, and with it the lock.
   */
  async exclusively<T> (job: string, fn: () => Promise<T>): Promise<T | null> {
    const client = await this.pool.connect().catch((err) => { throw unavailable(err) })
    let broken = false
    try {
      const got = (await client.query("SELECT pg_try_advisory_lock(hashtextextended('mqchat-job:' || $1, 0)) AS ok", [job])).rows[0].ok as boolean
      if (!got) return null
      try {
        return await fn()
      } finally {
        await client.query("SELECT pg_advisory_unlock(hashtextextended('mqchat-job:' || $1, 0))", [job]).catch(() => { broken = true })
      }
    } catch (err) {
      broken = broken || isUnavailable(err)
      throw isUnavailable(err) ? unavailable(err) : err
    } finally {
      client.release(broken)
    }
  }

  async ping (): Promise<void> {
    await this.q('SELECT 1')
  }

  async close (): Promise<void> {
    if (this.heartbeat !== null) clearInterval(this.heartbeat)
    await this.writer.drain()
    await this.outbox.drain()
    try {
      await this.outbox.releaseAll()
      await this.q('DELETE FROM nodes WHERE id = $1', [this.nodeId])
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not sign off from the database')
    }
    await this.pool.end()
  }

  /** The node's row is renewed; a node that finds itself reaped (a long pause) joins again. */
  private async beat (): Promise<void> {
    try {
      await this.syncClock()
      const r = await this.q('UPDATE nodes SET alive_until = $2 WHERE id = $1', [this.nodeId, this.now() + this.nodeTtlMs])
      if (r.rowCount === 0) {
        this.log.warn('this node was taken for gone (paused past its liveness limit); joining again')
        await this.q('INSERT INTO nodes (id, started_at, alive_until) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET alive_until = excluded.alive_until', [this.nodeId, this.now(), this.now() + this.nodeTtlMs])
        // Its sockets were counted gone and its users sent offline: they connect again.
        this.onReaped()
      }
      await this.q('DELETE FROM nodes WHERE alive_until < $1', [this.now() - NODE_ROW_KEEP_MS])
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'node heartbeat failed')
    }
  }

  /** Reads the database's clock; the offset is taken at the middle of the round trip. */
  private async syncClock (): Promise<void> {
    const before = Date.now()
    const r = await this.q<{ ms: string }>('SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS ms')
    const after = Date.now()
    this.clockOffsetMs = Number(r.rows[0]!.ms) - Math.round((before + after) / 2)
  }

  /** One statement; a database that cannot be reached answers `unavailable`. */
  private async q<R extends pg.QueryResultRow = any> (sql: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>(sql, params)
    } catch (err) {
      throw isUnavailable(err) ? unavailable(err) : err
    }
  }

  /** Statements in one transaction. */
  private tx<T> (fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    return transaction(this.pool, fn)
  }

  // --- domains and users ---

  createDomain (d: NewDomain): Promise<void> {
    return this.domains.create(d)
  }

  getDomain (id: string): Promise<DomainRow | null> {
    return this.domains.get(id)
  }

  listDomains (): Promise<DomainRow[]> {
    return this.domains.list()
  }

  updateDomain (id: string, patch: DomainPatch): Promise<DomainRow | null> {
    return this.domains.update(id, patch)
  }

  domainIdByKeyHash (hash: string): Promise<string | null> {
    return this.domains.idByKeyHash(hash)
  }

  setDomainKeyHash (id: string, hash: string): Promise<void> {
    return this.domains.setKeyHash(id, hash)
  }

  ensureUser (domainId: string, userid: number, at: number): Promise<void> {
    return this.presence.ensureUser(domainId, userid, at)
  }

  getPresence (domainId: string, userid: number): Promise<PresenceRow | null> {
    return this.presence.get(domainId, userid)
  }

  listPresence (domainId: string, status?: PresenceStatus): Promise<PresenceRow[]> {
    return this.presence.list(domainId, status)
  }

  listPresent (domainId: string): Promise<PresenceRow[]> {
    return this.presence.listPresent(domainId)
  }

  listOrphanedPresence (): Promise<Array<PresenceRow & { domainId: string }>> {
    return this.presence.orphaned()
  }

  changePresence (c: PresenceChange): Promise<void> {
    return this.writer.changePresence(c)
  }

  appendMessage (m: NewMessage, eventFor: (row: MessageRow) => EventDraft): Promise<MessageRow> {
    return this.writer.appendMessage(m, eventFor)
  }

  setProfile (domainId: string, userid: number, patch: ProfilePatch, at: number): Promise<void> {
    return this.people.setProfile(domainId, userid, patch, at)
  }

  getUser (domainId: string, userid: number): Promise<UserRow | null> {
    return this.people.getUser(domainId, userid)
  }

  listUsers (domainId: string, q: UserQuery): Promise<UserRow[]> {
    return this.people.listUsers(domainId, q)
  }

  listConversations (domainId: string, userid: number, q: { limit: number, before?: number }): Promise<ConversationRow[]> {
    return this.people.listConversations(domainId, userid, q)
  }

  markRead (domainId: string, userid: number, peer: number, upTo: number): Promise<ReadResult> {
    return this.people.markRead(domainId, userid, peer, upTo)
  }

  setBlock (domainId: string, userid: number, peer: number, blocked: boolean, at: number): Promise<void> {
    return this.people.setBlock(domainId, userid, peer, blocked, at)
  }

  isBlocked (domainId: string, userid: number, peer: number): Promise<boolean> {
    return this.people.isBlocked(domainId, userid, peer)
  }

  setFriend (domainId: string, userid: number, peer: number, friends: boolean, at: number): Promise<void> {
    return this.people.setFriend(domainId, userid, peer, friends, at)
  }

  listFriends (domainId: string, userid: number): Promise<UserRow[]> {
    return this.people.listFriends(domainId, userid)
  }

  areFriends (domainId: string, userid: number, peer: number): Promise<boolean> {
    return this.people.areFriends(domainId, userid, peer)
  }

  pruneMessages (domainId: string, olderThanMs: number): Promise<number> {
    return this.people.pruneMessages(domainId, olderThanMs, MESSAGE_BATCH)
  }

  async eraseUser (domainId: string, userid: number, at: number): Promise<number> {
    const deleted = await this.people.eraseUser(domainId, userid, at, MESSAGE_BATCH)
    await this.push.eraseUser(domainId, userid)
    return deleted
  }

  erasedAt (domainId: string, userid: number): Promise<number | null> {
    return this.people.erasedAt(domainId, userid)
  }

  listMessages (q: MessageQuery): Promise<MessageRow[]> {
    return this.messages.list(q)
  }

  // --- files ---

  createFile (f: FileRow): Promise<void> {
    return this.files.create(f)
  }

  getFile (domainId: string, id: string): Promise<FileRow | null> {
    return this.files.get(domainId, id)
  }

  storedBytes (domainId: string): Promise<number> {
    return this.files.storedBytes(domainId)
  }

  sweepableFiles (unattachedBefore: number, after: { domainId: string, id: string } | null, limit: number): Promise<FileRow[]> {
    return this.files.sweepable(unattachedBefore, after, limit)
  }

  deleteFile (domainId: string, id: string, unattachedBefore: number): Promise<boolean> {
    return this.files.delete(domainId, id, unattachedBefore)
  }

  // --- callbacks: outbox.ts ---

  listEvents (domainId: string, kind: EventKind, afterId: number, limit: number): Promise<EventRow[]> {
    return this.outbox.listEvents(domainId, kind, afterId, limit)
  }

  getCallback (domainId: string, kind: EventKind, newSecret: () => string): Promise<CallbackRow> {
    return this.outbox.getCallback(domainId, kind, newSecret)
  }

  updateCallback (domainId: string, kind: EventKind, patch: CallbackPatch, newSecret: () => string): Promise<CallbackRow> {
    return this.outbox.updateCallback(domainId, kind, patch, newSecret)
  }

  countPending (domainId: string, kind: EventKind): Promise<number> {
    return this.outbox.countPending(domainId, kind)
  }

  countPendingByKind (): Promise<Record<EventKind, number>> {
    return this.outbox.countPendingByKind()
  }

  readyDomains (nowMs: number): Promise<string[]> {
    return this.outbox.readyDomains(nowMs)
  }

  claimEvents (domainId: string, nodeId: string, nowMs: number, leaseUntil: number, limit: number): Promise<ClaimedEvent[]> {
    return this.outbox.claimEvents(domainId, nodeId, nowMs, leaseUntil, limit)
  }

  complete (c: Completion): Promise<Completed> {
    return this.outbox.complete(c)
  }

  releaseLeases (nodeId: string, keepEventIds: number[], nowMs: number): Promise<number> {
    return this.outbox.releaseLeases(nodeId, keepEventIds, nowMs)
  }

  recoverOutbox (nowMs: number): Promise<number> {
    return this.outbox.recoverOutbox(nowMs)
  }

  nextDueAt (): Promise<number | null> {
    return this.outbox.nextDueAt()
  }

  replay (domainId: string, kind: EventKind, sinceMs: number, nowMs: number): Promise<number> {
    return this.outbox.replay(domainId, kind, sinceMs, nowMs)
  }

  listLogs (domainId: string, kind: EventKind, q: { limit: number, result?: 'ok' | 'failed', before?: number }): Promise<LogRow[]> {
    return this.outbox.listLogs(domainId, kind, q)
  }

  pruneLogs (keep: number, olderThanMs: number): Promise<number> {
    return this.outbox.pruneLogs(keep, olderThanMs)
  }

  pruneEvents (olderThanMs: number): Promise<number> {
    return this.outbox.pruneEvents(olderThanMs)
  }

  initSetting (key: string, value: string): Promise<string> {
    return this.push.initSetting(key, value)
  }

  addPushSubscription (s: PushSubscriptionRow, max: number): Promise<void> {
    return this.push.addSubscription(s, max)
  }

  removePushSubscription (domainId: string, userid: number, endpoint: string): Promise<boolean> {
    return this.push.removeSubscription(domainId, userid, endpoint)
  }

  listPushSubscriptions (domainId: string, userid: number): Promise<PushSubscriptionRow[]> {
    return this.push.listSubscriptions(domainId, userid)
  }

  queuePush (domainId: string, userid: number, payload: string, at: number): Promise<{ subscriptions: number, queued: number }> {
    return this.push.queue(domainId, userid, payload, at)
  }

  claimPushes (nodeId: string, nowMs: number, leaseUntil: number, limit: number): Promise<ClaimedPush[]> {
    return this.push.claim(nodeId, nowMs, leaseUntil, limit)
  }

  finishPush (id: number, nodeId: string, o: PushOutcome): Promise<void> {
    return this.push.finish(id, nodeId, o)
  }

  countPushes (): Promise<number> {
    return this.push.count()
  }

}

