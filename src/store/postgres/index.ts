// The PostgreSQL store (MQCHAT_DATABASE_URL): everything the embedded store does, on a
// database that several nodes share. Leases and due times follow the database's clock;
// each node registers itself (nodes) and renews its row, so the others can tell when it is gone.
// This class is the lifecycle and the wiring: each family's SQL is a file of its own
// (domains.ts, presence.ts, people.ts, messages.ts with writer.ts, files.ts, push.ts). Over
// 300 lines for now: the outbox's methods stay here until the change that speeds them up has landed.
import pg from 'pg'
import { SetupError } from '../../errors.ts'
import type { Logger } from '../../log.ts'
import { REPLAY_BATCH, REPLAY_PAUSE_MS } from '../outbox-rules.ts'
import { CALLBACK_PATCH_COLUMNS } from '../rows.ts'
import { claimedEvent, type ClaimRow } from '../claimed.ts'
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
import { PgPresence, PresenceRowsPg } from './presence.ts'
import { PushPg } from './push.ts'
import { transaction } from './tx.ts'
import { Writer } from './writer.ts'

const MIGRATIONS_DIR = new URL('./migrations/', import.meta.url)
/** A node renews its row four times per liveness limit (MQCHAT_NODE_TTL_MS, default 20 s). */
const DEFAULT_NODE_TTL_MS = 20_000
const HEARTBEATS_PER_TTL = 4
/** Rows of nodes gone this long are removed. */
const NODE_ROW_KEEP_MS = 24 * 3600 * 1000
/** A statement that takes longer than this fails (a database that went silent). */
const QUERY_TIMEOUT_MS = 10_000
const CONNECT_TIMEOUT_MS = 5_000
/**
 * Completion batches written at once: each waits for its commit's WAL flush (the log and the
 * event's state must last), so one at a time would cap deliveries at batch size / flush time.
 * Two batches of one user's queue cannot deadlock: each locks its users first, in one order.
 */
const COMPLETION_BATCHES_IN_FLIGHT = 3
const COMPLETION_BATCH = 500
/** A batch PostgreSQL chose to roll back in a deadlock is written again, up to this many times in all. */
const DEADLOCK_RETRIES = 3
/**
 * Runs `fn` once more (DEADLOCK_RETRIES times in all) when PostgreSQL chose it to roll back
 * in a deadlock: it wrote nothing. A replay or a switch-off (callback row, then events) can
 * meet a batch of completions (events, then callback rows); PostgreSQL breaks the circle by
 * rolling one back, and that one is simply done again.
 */
async function againOnDeadlock<T> (fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn()
    } catch (err) {
      if ((err as { code?: string }).code !== '40P01' || attempt >= DEADLOCK_RETRIES) throw err
    }
  }
}

/** Events removed in one retention batch. */
const PRUNE_BATCH = 5000
/** Messages removed in one batch (retention, erasure): one short transaction each. */
const MESSAGE_BATCH = 2000

// bigint columns hold ids and unix ms, all below 2^53: read them as numbers.
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === pg.types.builtins.INT8 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser
}

const LOG_COLS = `id, domain_id AS "domainId", kind, event_id AS "eventId", webhook_id AS "webhookId", at, url,
  request_headers AS "requestHeaders", request_body AS "requestBody", response_status AS "responseStatus",
  response_body AS "responseBody", duration_ms AS "durationMs", error, attempt, result`
const CB_COLS = `domain_id AS "domainId", kind, url, enabled, disabled_reason AS "disabledReason", disabled_at AS "disabledAt",
  signing_secret AS "signingSecret", previous_secret AS "previousSecret", previous_secret_until AS "previousSecretUntil",
  last_success_at AS "lastSuccessAt", last_failure_at AS "lastFailureAt"`
/** A replay's events in flight: pending again once their attempt ends (they go out again in turn). */
const REQUEUE_IN_FLIGHT = `UPDATE events SET requeued = true WHERE state = 'pending' AND created_at >= $3 AND id IN (
  SELECT head_id FROM outbox_queues WHERE domain_id = $1 AND kind = $2 AND locked_by IS NOT NULL)`

export class PostgresStore implements Store {
  private readonly pool: pg.Pool
  private readonly writer: Writer
  private completions: Array<{ c: Completion, resolve: (done: Completed) => void, reject: (e: unknown) => void }> = []
  private completing: Promise<void> | null = null
  private completers = 0
  /** the database's clock minus ours, in ms */
  private clockOffsetMs = 0
  private heartbeat: NodeJS.Timeout | null = null
  private rebuilt = false
  private readonly domains = new DomainsPg((sql, params) => this.q(sql, params))
  private readonly presence = new PresenceRowsPg((sql, params) => this.q(sql, params), () => this.now())
  private readonly people = new PeoplePg((sql, params) => this.q(sql, params), (fn) => this.tx(fn))
  private readonly messages = new MessagesPg((sql, params) => this.q(sql, params))
  private readonly files = new FilesPg((sql, params) => this.q(sql, params))
  private readonly push = new PushPg((sql, params) => this.q(sql, params), (fn) => this.tx(fn))
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
    while (this.completers > 0) await this.completing
    try {
      // Leaving cleanly: what this node held is free for the others at once.
      await this.q('UPDATE outbox_queues SET locked_by = NULL, locked_until = NULL, ready_at = least(ready_at, $2) WHERE locked_by = $1', [this.nodeId, this.now()])
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

  async listEvents (domainId: string, kind: EventKind, afterId: number, limit: number): Promise<EventRow[]> {
    return (await this.q<EventRow>(`SELECT id, domain_id AS "domainId", kind, userid, webhook_id AS "webhookId", body, created_at AS "createdAt", state
      FROM events WHERE domain_id = $1 AND kind = $2 AND id > $3 ORDER BY id LIMIT $4`, [domainId, kind, afterId, limit])).rows
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

  // --- callbacks ---

  async getCallback (domainId: string, kind: EventKind, newSecret: () => string): Promise<CallbackRow> {
    const found = (await this.q<CallbackRow>(`SELECT ${CB_COLS} FROM callbacks WHERE domain_id = $1 AND kind = $2`, [domainId, kind])).rows[0]
    if (found !== undefined) return found
    await this.q('INSERT INTO callbacks (domain_id, kind, signing_secret) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [domainId, kind, newSecret()])
    return (await this.q<CallbackRow>(`SELECT ${CB_COLS} FROM callbacks WHERE domain_id = $1 AND kind = $2`, [domainId, kind])).rows[0]!
  }

  async updateCallback (domainId: string, kind: EventKind, patch: CallbackPatch, newSecret: () => string): Promise<CallbackRow> {
    const sets: string[] = []
    const values: unknown[] = [domainId, kind]
    for (const [key, col] of Object.entries(CALLBACK_PATCH_COLUMNS) as Array<[keyof CallbackPatch, string]>) {
      if (patch[key] === undefined) continue
      values.push(patch[key])
      sets.push(`${col} = $${values.length}`)
    }
    await this.q('INSERT INTO callbacks (domain_id, kind, signing_secret) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [domainId, kind, newSecret()])
    const row = sets.length === 0
      ? (await this.q<CallbackRow>(`SELECT ${CB_COLS} FROM callbacks WHERE domain_id = $1 AND kind = $2`, values)).rows[0]!
      : (await this.q<CallbackRow>(`UPDATE callbacks SET ${sets.join(', ')} WHERE domain_id = $1 AND kind = $2 RETURNING ${CB_COLS}`, values)).rows[0]!
    if (!row.enabled) await this.holdPending(domainId, kind)
    return row
  }

  /**
   * A callback that is off sends nothing: its pending events are held and its idle queues
   * closed, a batch per transaction. Each batch re-checks that the callback is still off. A
   * queue whose head is being sent stays until that attempt ends (its holder closes it).
   */
  private async holdPending (domainId: string, kind: EventKind): Promise<void> {
    const stillOff = 'NOT EXISTS (SELECT 1 FROM callbacks WHERE domain_id = $1 AND kind = $2 AND enabled)'
    for (;;) {
      const r = await againOnDeadlock(() => this.q(`UPDATE events SET state = 'held' WHERE id IN (
          SELECT id FROM events WHERE domain_id = $1 AND kind = $2 AND state = 'pending' ORDER BY id LIMIT $3)
        AND ${stillOff}`, [domainId, kind, REPLAY_BATCH]))
      if ((r.rowCount ?? 0) < REPLAY_BATCH) break
    }
    await this.q(`DELETE FROM outbox_queues WHERE domain_id = $1 AND kind = $2 AND locked_by IS NULL AND ${stillOff}`, [domainId, kind])
  }

  async countPending (domainId: string, kind: EventKind): Promise<number> {
    return Number((await this.q("SELECT count(*) AS n FROM events WHERE domain_id = $1 AND kind = $2 AND state = 'pending'", [domainId, kind])).rows[0].n)
  }

  async countPendingByKind (): Promise<Record<EventKind, number>> {
    const out: Record<EventKind, number> = { presence: 0, messages: 0 }
    for (const r of (await this.q("SELECT kind, count(*) AS n FROM events WHERE state = 'pending' GROUP BY kind")).rows) out[r.kind as EventKind] = Number(r.n)
    return out
  }

  async readyDomains (nowMs: number): Promise<string[]> {
    return (await this.q('SELECT DISTINCT domain_id FROM outbox_queues WHERE ready_at <= $1 AND (locked_until IS NULL OR locked_until < $1)', [nowMs])).rows.map((r) => r.domain_id)
  }

  async claimEvents (domainId: string, nodeId: string, nowMs: number, leaseUntil: number, limit: number): Promise<ClaimedEvent[]> {
    // One call (migration 011): it skips queues another claim is taking, and commits without
    // waiting for its WAL flush (a lost claim loses only a lease).
    const rows = (await this.pool.query({ name: 'mqchat_claim', text: 'SELECT * FROM mqchat_claim($1, $2, $3, $4, $5)', values: [domainId, nowMs, nodeId, leaseUntil, limit] })
      .catch((err) => { throw isUnavailable(err) ? unavailable(err) : err })).rows
    return rows.map((r) => claimedEvent(r, nowMs))
  }

  /** Completions queued while a batch is being written go together in the next one. */
  async complete (c: Completion): Promise<Completed> {
    const done = await new Promise<Completed>((resolve, reject) => {
      this.completions.push({ c, resolve, reject })
      if (this.completers < COMPLETION_BATCHES_IN_FLIGHT) {
        this.completers++
        const loop = this.completeLoop().finally(() => { this.completers-- })
        this.completing = loop
      }
    })
    if (done.held && c.outcome === 'disable') await this.holdPending(c.domainId, c.kind)
    return done
  }

  private async completeLoop (): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve))
    while (this.completions.length > 0) {
      const batch = this.completions.splice(0, COMPLETION_BATCH)
      const body = JSON.stringify(batch.map((b) => b.c))
      try {
        // (a deadlock with a replay or another node's batch: the whole batch once more)
        // (migration 016: each answer is {"held", "next"}, next being a chained event)
        const r = await againOnDeadlock(() => this.q<{ out: Array<{ held: boolean, next?: ClaimRow }> }>('SELECT mqchat_complete_all_next($1::jsonb) AS out', [body]))
        const now = this.now()
        batch.forEach((b, i) => {
          const o = r.rows[0]!.out[i]!
          b.resolve({ held: o.held, next: o.next === undefined ? null : claimedEvent(o.next, now) })
        })
      } catch (err) {
        for (const b of batch) b.reject(err)
      }
    }
  }

  async releaseLeases (nodeId: string, keepEventIds: number[], nowMs: number): Promise<number> {
    // (a leased queue's ready_at is its lease's end, migration 012: ready again now)
    return (await this.q('UPDATE outbox_queues SET locked_by = NULL, locked_until = NULL, ready_at = least(ready_at, $3) WHERE locked_by = $1 AND NOT (head_id = ANY($2::bigint[]))',
      [nodeId, keepEventIds, nowMs])).rowCount ?? 0
  }

  async recoverOutbox (nowMs: number): Promise<number> {
    const off = (await this.q(`SELECT c.domain_id, c.kind FROM callbacks c WHERE NOT c.enabled
      AND EXISTS (SELECT 1 FROM events e WHERE e.domain_id = c.domain_id AND e.kind = c.kind AND e.state = 'pending')`)).rows
    for (const cb of off) await this.holdPending(cb.domain_id, cb.kind)
    // Leases of nodes that are gone. The WHERE re-checks that the holder is still gone at
    // the moment of the update (a paused node may have come back meanwhile).
    const freed = await this.q(`UPDATE outbox_queues q SET locked_by = NULL, locked_until = NULL, ready_at = least(q.ready_at, $3)
      WHERE q.locked_by IS NOT NULL AND q.locked_by <> $1
        AND NOT EXISTS (SELECT 1 FROM nodes n WHERE n.id = q.locked_by AND n.alive_until >= $2)`, [this.nodeId, this.now(), nowMs])
    let rebuilt = 0
    if (!this.rebuilt) {
      // Once per process: queues are kept in the same transactions as their events, so this
      // is only a safety net, and it reads every pending event.
      rebuilt = (await this.q(`INSERT INTO outbox_queues (domain_id, kind, userid, head_id, ready_at)
        SELECT domain_id, kind, userid, min(id), $1 FROM events WHERE state = 'pending' GROUP BY domain_id, kind, userid
        ON CONFLICT DO NOTHING`, [nowMs])).rowCount ?? 0
      this.rebuilt = true
    }
    return (freed.rowCount ?? 0) + rebuilt
  }

  async nextDueAt (): Promise<number | null> {
    return (await this.q('SELECT min(ready_at) AS at FROM outbox_queues WHERE locked_by IS NULL')).rows[0].at
  }

  async replay (domainId: string, kind: EventKind, sinceMs: number, nowMs: number): Promise<number> {
    // The replay begins: claims pause, and an event in flight since then is marked to be
    // pending again when its attempt ends (were it marked only at the end, an attempt ending
    // between the batches would finish it for good).
    const start = await againOnDeadlock(() => this.tx(async (c) => {
      await c.query('UPDATE callbacks SET paused_until = $3 WHERE domain_id = $1 AND kind = $2', [domainId, kind, this.now() + REPLAY_PAUSE_MS])
      await c.query(REQUEUE_IN_FLIGHT, [domainId, kind, sinceMs])
      return (await c.query('SELECT min(id) AS id FROM events WHERE domain_id = $1 AND kind = $2 AND created_at >= $3', [domainId, kind, sinceMs])).rows[0].id as number | null
    }))
    if (start !== null) {
      let from = start - 1
      for (;;) {
        // One batch: the pause of claims is renewed, the next REPLAY_BATCH events are pending again.
        const r = (await againOnDeadlock(() => this.q(`WITH pause AS (UPDATE callbacks SET paused_until = $6 WHERE domain_id = $1 AND kind = $2),
            edge AS (SELECT max(id) AS last, count(*) AS n FROM (
              SELECT id FROM events WHERE domain_id = $1 AND kind = $2 AND id > $4 AND created_at >= $3 ORDER BY id LIMIT $5) s),
            upd AS (UPDATE events SET state = 'pending', attempts = 0
              WHERE domain_id = $1 AND kind = $2 AND id > $4 AND id <= (SELECT last FROM edge) AND created_at >= $3 AND state <> 'pending')
          SELECT last, n FROM edge`, [domainId, kind, sinceMs, from, REPLAY_BATCH, this.now() + REPLAY_PAUSE_MS]))).rows[0]
        if (r.last === null) break
        from = r.last
        if (Number(r.n) < REPLAY_BATCH) break
      }
    }
    return againOnDeadlock(() => this.tx(async (c) => {
      // A queue in flight keeps its head: when that attempt ends it moves to the oldest pending.
      await c.query(REQUEUE_IN_FLIGHT, [domainId, kind, sinceMs])
      await c.query(`INSERT INTO outbox_queues (domain_id, kind, userid, head_id, ready_at)
        SELECT domain_id, kind, userid, min(id), $3 FROM events WHERE domain_id = $1 AND kind = $2 AND state = 'pending' GROUP BY domain_id, kind, userid
        ON CONFLICT (domain_id, kind, userid) DO UPDATE SET head_id = least(outbox_queues.head_id, excluded.head_id), ready_at = least(outbox_queues.ready_at, excluded.ready_at)
          WHERE outbox_queues.locked_by IS NULL`, [domainId, kind, nowMs])
      await c.query('UPDATE callbacks SET paused_until = NULL WHERE domain_id = $1 AND kind = $2', [domainId, kind])
      return Number((await c.query("SELECT count(*) AS n FROM events WHERE domain_id = $1 AND kind = $2 AND created_at >= $3 AND state = 'pending'", [domainId, kind, sinceMs])).rows[0].n)
    }))
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

  async listLogs (domainId: string, kind: EventKind, q: { limit: number, result?: 'ok' | 'failed', before?: number }): Promise<LogRow[]> {
    const before = q.before ?? Number.MAX_SAFE_INTEGER
    const rows = (q.result === undefined
      ? await this.q(`SELECT ${LOG_COLS} FROM callback_logs WHERE domain_id = $1 AND kind = $2 AND id < $3 ORDER BY id DESC LIMIT $4`, [domainId, kind, before, q.limit])
      : await this.q(`SELECT ${LOG_COLS} FROM callback_logs WHERE domain_id = $1 AND kind = $2 AND result = $5 AND id < $3 ORDER BY id DESC LIMIT $4`, [domainId, kind, before, q.limit, q.result])).rows
    return rows.map((r) => ({ ...r, requestHeaders: JSON.parse(r.requestHeaders) }))
  }

  async pruneLogs (keep: number, olderThanMs: number): Promise<number> {
    let removed = 0
    // Per callback: one index seek finds its `keep`-th newest log; nothing scans the table.
    for (const cb of (await this.q('SELECT domain_id, kind FROM callbacks')).rows) {
      const cut = (await this.q('SELECT id FROM callback_logs WHERE domain_id = $1 AND kind = $2 ORDER BY id DESC LIMIT 1 OFFSET $3', [cb.domain_id, cb.kind, keep])).rows[0]
      if (cut !== undefined) {
        removed += (await this.q('DELETE FROM callback_logs WHERE domain_id = $1 AND kind = $2 AND at < $3 AND id <= $4', [cb.domain_id, cb.kind, olderThanMs, cut.id])).rowCount ?? 0
      }
    }
    return removed
  }

  async pruneEvents (olderThanMs: number): Promise<number> {
    let removed = 0
    for (;;) {
      const n = (await this.q(`DELETE FROM events WHERE id IN (
        SELECT id FROM events WHERE created_at < $1 AND state <> 'pending' ORDER BY created_at LIMIT $2)`, [olderThanMs, PRUNE_BATCH])).rowCount ?? 0
      removed += n
      if (n < PRUNE_BATCH) return removed
    }
  }
}

