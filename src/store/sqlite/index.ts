// The embedded store: SQLite through better-sqlite3, in MQCHAT_DATA_DIR, WAL mode.
import fs from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import { AppError, blockedError, notFriendError } from '../../errors.ts'
import type { Logger } from '../../log.ts'
import type {
  CallbackPatch, CallbackRow, ClaimedEvent, Completion, ConversationRow, DomainPatch, DomainRow, EventDraft, EventKind, EventRow, FileRow, LogRow,
  MessageQuery, MessageRow, NewDomain, NewMessage, PresenceChange, PresenceRow, PresenceStatus, ProfilePatch, ReadResult, Store, UserQuery, UserRow,
  ClaimedPush, PushOutcome, PushSubscriptionRow
} from '../types.ts'
import { PeopleSql } from './people.ts'
import { GroupCommit } from './group-commit.ts'
import { migrate } from './migrate.ts'
import { OutboxSql } from './outbox.ts'
import { PushSql } from './push.ts'
import { REPLAY_BATCH } from '../outbox-rules.ts'

/** Events removed in one retention batch. */
const PRUNE_BATCH = 5000
/** Messages removed in one batch (retention, erasure): a few ms of the writer each. */
const MESSAGE_BATCH = 2000

const MIGRATIONS_DIR = new URL('./migrations/', import.meta.url)

interface DbMessage {
  id: number
  domain_id: string
  from_userid: number
  to_userid: number
  type: number
  message: string
  p1: string
  p2: string
  p3: string
  created_at: number
}

const toMessage = (r: DbMessage): MessageRow => ({
  id: r.id,
  domainId: r.domain_id,
  fromUserid: r.from_userid,
  toUserid: r.to_userid,
  type: r.type,
  message: r.message,
  p1: r.p1,
  p2: r.p2,
  p3: r.p3,
  at: r.created_at
})

export class SqliteStore implements Store {
  private db!: Database.Database
  private writes!: GroupCommit
  private q!: ReturnType<typeof prepare>
  private outbox!: OutboxSql
  private people!: PeopleSql
  private push!: PushSql
  readonly file: string
  private rebuilt = false

  constructor (dataDir: string, readonly nodeId: string, private readonly log: Logger) {
    this.file = path.join(dataDir, 'mqchat.sqlite')
  }

  async open (): Promise<void> {
    fs.mkdirSync(path.dirname(this.file), { recursive: true })
    this.db = new Database(this.file)
    this.db.pragma('journal_mode = WAL')
    // FULL: a commit is on disk before the message is acked or delivered, so an accepted
    // event survives a power cut too, not just a crash of the process. Group commit
    // (one transaction per event-loop tick) keeps the fsync cost per batch, not per message,
    // and syncs off the event loop (group-commit.ts).
    this.db.pragma('synchronous = FULL')
    this.db.pragma('foreign_keys = ON')
    this.db.pragma('busy_timeout = 5000')
    // Savepoint journals stay in memory: on disk they cost ~8 writes per message (measured).
    this.db.pragma('temp_store = MEMORY')
    const applied = migrate(this.db, MIGRATIONS_DIR)
    if (applied.length > 0) this.log.info({ applied }, 'database migrated')
    this.q = prepare(this.db)
    this.outbox = new OutboxSql(this.db)
    this.people = new PeopleSql(this.db)
    this.push = new PushSql(this.db)
    this.writes = new GroupCommit(this.db, `${this.file}-wal`, () => this.outbox.newBatch())
  }

  /** One process holds the file: its clock is the database's. */
  now (): number {
    return Date.now()
  }

  /** One node: nobody else can be running the job. */
  async exclusively<T> (_job: string, fn: () => Promise<T>): Promise<T | null> {
    return fn()
  }

  async ping (): Promise<void> {
    this.db.prepare('SELECT 1').get()
  }

  async close (): Promise<void> {
    if (this.db === undefined || !this.db.open) return
    await this.writes.drain()
    this.writes.close()
    this.db.close()
  }

  async createDomain (d: NewDomain): Promise<void> {
    try {
      this.q.insertDomain.run(d.id, d.name, d.apiKeyHash, d.tokenSecret, d.createdAt)
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        throw new AppError('domain_exists', `domain "${d.id}" already exists`)
      }
      throw err
    }
  }

  async getDomain (id: string): Promise<DomainRow | null> {
    const r = this.q.getDomain.get(id) as DbDomain | undefined
    return r === undefined ? null : toDomain(r)
  }

  async listDomains (): Promise<DomainRow[]> {
    return (this.q.listDomains.all() as DbDomain[]).map(toDomain)
  }

  async updateDomain (id: string, patch: DomainPatch): Promise<DomainRow | null> {
    this.q.updateDomain.run({
      id,
      name: patch.name ?? null,
      retentionDays: patch.retentionDays ?? null,
      allowedOrigins: patch.allowedOrigins === undefined ? null : JSON.stringify(patch.allowedOrigins),
      contacts: patch.contacts ?? null
    })
    return this.getDomain(id)
  }

  async domainIdByKeyHash (hash: string): Promise<string | null> {
    const row = this.q.domainByKey.get(hash) as { id: string } | undefined
    return row?.id ?? null
  }

  async setDomainKeyHash (id: string, hash: string): Promise<void> {
    this.q.setDomainKey.run(hash, id)
  }

  async ensureUser (domainId: string, userid: number, at: number): Promise<void> {
    // Each token minted (a visitor's page load) writes: in the group commit, so that its
    // sync is shared and never stands the event loop still.
    await this.writes.add(() => this.q.ensureUser.run(domainId, userid, at))
  }

  async getPresence (domainId: string, userid: number): Promise<PresenceRow | null> {
    return (this.q.getPresence.get(domainId, userid) as PresenceRow | undefined) ?? null
  }

  async listPresence (domainId: string, status?: PresenceStatus): Promise<PresenceRow[]> {
    return (status === undefined
      ? this.q.listPresence.all(domainId)
      : this.q.listPresenceByStatus.all(domainId, status)) as PresenceRow[]
  }

  async listPresent (domainId: string): Promise<PresenceRow[]> {
    return this.q.listPresent.all(domainId) as PresenceRow[]
  }

  /** The embedded database has one node, this process: whoever another node id left present was left so by a crash. */
  async listOrphanedPresence (): Promise<Array<PresenceRow & { domainId: string }>> {
    return this.q.orphaned.all(this.nodeId) as Array<PresenceRow & { domainId: string }>
  }

  changePresence (c: PresenceChange): Promise<void> {
    return this.writes.add(() => {
      this.q.upsertPresence.run(c.domainId, c.userid, c.status, c.at, this.nodeId)
      this.outbox.writeEvent(c.domainId, 'presence', c.userid, c.event.webhookId, c.event.body, c.at)
    })
  }

  appendMessage (m: NewMessage, eventFor: (row: MessageRow) => EventDraft): Promise<MessageRow> {
    return this.writes.add(() => {
      // SPEC §3, §10.3: nothing to a user who blocked the sender, nor to a non-friend in a
      // domain whose contacts are friends; read in the write's own transaction, so that a
      // block (or a friendship removed) and a send cannot cross. The refusal is answered,
      // not thrown: a throw would have the whole batch written again.
      const refused = this.people.refusal(m.domainId, m.fromUserid, m.toUserid)
      if (refused === 'blocked') return blockedError(m.toUserid)
      if (refused === 'not friends') return notFriendError(m.toUserid)
      const info = this.q.insertMessage.run(m.domainId, m.fromUserid, m.toUserid, m.type, m.message, m.p1, m.p2, m.p3, m.at, m.fileId ?? null)
      if (m.fileId != null) this.q.attachFile.run(m.at, m.domainId, m.fileId)
      const row: MessageRow = { ...m, id: Number(info.lastInsertRowid) }
      this.people.afterMessage(m.domainId, m.fromUserid, m.toUserid, row.id)
      const ev = eventFor(row)
      this.outbox.writeEvent(m.domainId, 'messages', m.fromUserid, ev.webhookId, ev.body, m.at)
      return row
    }).then((r) => r instanceof AppError ? Promise.reject(r) : r)
  }

  setProfile (domainId: string, userid: number, patch: ProfilePatch, at: number): Promise<void> {
    return this.writes.add(() => this.people.setProfile(domainId, userid, patch, at))
  }

  async getUser (domainId: string, userid: number): Promise<UserRow | null> {
    return this.people.getUser(domainId, userid)
  }

  async listUsers (domainId: string, q: UserQuery): Promise<UserRow[]> {
    return this.people.listUsers(domainId, q)
  }

  async listConversations (domainId: string, userid: number, q: { limit: number, before?: number }): Promise<ConversationRow[]> {
    return this.people.listConversations(domainId, userid, q)
  }

  markRead (domainId: string, userid: number, peer: number, upTo: number): Promise<ReadResult> {
    return this.writes.add(() => this.people.markRead(domainId, userid, peer, upTo))
  }

  setBlock (domainId: string, userid: number, peer: number, blocked: boolean, at: number): Promise<void> {
    return this.writes.add(() => this.people.setBlock(domainId, userid, peer, blocked, at))
  }

  async isBlocked (domainId: string, userid: number, peer: number): Promise<boolean> {
    return this.people.isBlocked(domainId, userid, peer)
  }

  setFriend (domainId: string, userid: number, peer: number, friends: boolean, at: number): Promise<void> {
    // One write of the group commit: both directions in one transaction.
    return this.writes.add(() => this.people.setFriend(domainId, userid, peer, friends, at))
  }

  async listFriends (domainId: string, userid: number): Promise<UserRow[]> {
    return this.people.listFriends(domainId, userid)
  }

  async areFriends (domainId: string, userid: number, peer: number): Promise<boolean> {
    return this.people.areFriends(domainId, userid, peer)
  }

  async pruneMessages (domainId: string, olderThanMs: number): Promise<number> {
    let deleted = 0
    for (;;) {
      // Each batch is one write of the group commit: it never interleaves with a message.
      const r = await this.writes.add(() => this.people.pruneBatch(domainId, olderThanMs, MESSAGE_BATCH))
      deleted += r.deleted
      if (!r.more) return deleted
      await yieldToOthers()
    }
  }

  async eraseUser (domainId: string, userid: number, at: number): Promise<number> {
    await this.writes.add(() => this.people.markErased(domainId, userid, at))
    let deleted = 0
    for (;;) {
      const n = await this.writes.add(() => this.people.eraseMessagesBatch(domainId, userid, MESSAGE_BATCH))
      deleted += n
      if (n === 0) break
      await yieldToOthers()
    }
    await this.writes.add(() => { this.people.eraseRest(domainId, userid); this.push.eraseUser(domainId, userid) })
    return deleted
  }

  async erasedAt (domainId: string, userid: number): Promise<number | null> {
    return this.people.erasedAt(domainId, userid)
  }

  async listMessages (q: MessageQuery): Promise<MessageRow[]> {
    const limit = q.limit
    let rows: DbMessage[]
    if (q.after !== undefined) {
      // Catch-up: oldest first. The two index ranges are merged by id.
      rows = q.userid === undefined
        ? this.q.domainAfter.all(q.domainId, q.after, limit) as DbMessage[]
        : q.peer === undefined
          ? this.q.userAfter.all(q.domainId, q.userid, q.after, limit, q.domainId, q.userid, q.after, limit, limit) as DbMessage[]
          : this.q.pairAfter.all(q.domainId, q.userid, q.peer, q.after, limit, q.domainId, q.peer, q.userid, q.after, limit, limit) as DbMessage[]
    } else {
      const before = q.before ?? Number.MAX_SAFE_INTEGER
      rows = q.userid === undefined
        ? this.q.domainBefore.all(q.domainId, before, limit) as DbMessage[]
        : q.peer === undefined
          ? this.q.userBefore.all(q.domainId, q.userid, before, limit, q.domainId, q.userid, before, limit, limit) as DbMessage[]
          : this.q.pairBefore.all(q.domainId, q.userid, q.peer, before, limit, q.domainId, q.peer, q.userid, before, limit, limit) as DbMessage[]
    }
    // Shown only once on disk (group-commit.ts).
    await this.writes.barrier()
    return rows.map(toMessage)
  }

  async listEvents (domainId: string, kind: EventKind, afterId: number, limit: number): Promise<EventRow[]> {
    const rows = this.q.listEvents.all(domainId, kind, afterId, limit) as EventRow[]
    await this.writes.barrier()
    return rows
  }

  async createFile (f: FileRow): Promise<void> {
    await this.writes.add(() => this.q.insertFile.run(f.domainId, f.id, f.contentType, f.size, f.thumbnailSize, f.width, f.height, f.durationMs, f.createdAt, f.attachedAt))
  }

  async getFile (domainId: string, id: string): Promise<FileRow | null> {
    return (this.q.getFile.get(domainId, id) as FileRow | undefined) ?? null
  }

  async storedBytes (domainId: string): Promise<number> {
    return (this.q.storedBytes.get(domainId) as { n: number }).n
  }

  async sweepableFiles (unattachedBefore: number, after: { domainId: string, id: string } | null, limit: number): Promise<FileRow[]> {
    return this.q.sweepable.all({ domainId: after?.domainId ?? '', id: after?.id ?? '', cutoff: unattachedBefore, limit }) as FileRow[]
  }

  async deleteFile (domainId: string, id: string, unattachedBefore: number): Promise<boolean> {
    return (await this.writes.add(() => this.q.deleteFile.run({ domainId, id, cutoff: unattachedBefore }))).changes > 0
  }

  async getCallback (domainId: string, kind: EventKind, newSecret: () => string): Promise<CallbackRow> {
    return this.outbox.getCallback(domainId, kind, newSecret)
  }

  async updateCallback (domainId: string, kind: EventKind, patch: CallbackPatch, newSecret: () => string): Promise<CallbackRow> {
    const row = this.outbox.updateCallback(domainId, kind, patch, newSecret)
    if (!row.enabled) await this.holdPending(domainId, kind)
    return row
  }

  private async holdPending (domainId: string, kind: EventKind): Promise<void> {
    while (this.outbox.holdPendingBatch(domainId, kind, REPLAY_BATCH) === REPLAY_BATCH) await yieldToOthers()
  }

  async countPending (domainId: string, kind: EventKind): Promise<number> {
    return this.outbox.countPending(domainId, kind)
  }

  async countPendingByKind (): Promise<Record<EventKind, number>> {
    return this.outbox.countPendingByKind()
  }

  async readyDomains (nowMs: number): Promise<string[]> {
    return this.outbox.readyDomains(nowMs)
  }

  async claimEvents (domainId: string, nodeId: string, nowMs: number, leaseUntil: number, limit: number): Promise<ClaimedEvent[]> {
    const claimed = this.outbox.claim(domainId, nodeId, nowMs, leaseUntil, limit)
    // Sent only once on disk: a commit is visible before its sync ends (group-commit.ts).
    if (claimed.length > 0) await this.writes.barrier()
    return claimed
  }

  async complete (c: Completion): Promise<boolean> {
    const held = await this.writes.add(() => this.outbox.complete(c))
    if (held && c.outcome === 'disable') await this.holdPending(c.domainId, c.kind)
    return held
  }

  async releaseLeases (nodeId: string, keepEventIds: number[], nowMs: number): Promise<number> {
    return this.outbox.releaseLeases(nodeId, keepEventIds, nowMs)
  }

  async recoverOutbox (nowMs: number): Promise<number> {
    for (const cb of this.outbox.offWithPending()) await this.holdPending(cb.domainId, cb.kind)
    // The rebuild reads every pending event: once per process is enough (queues are kept in
    // the same transactions as their events; this is a safety net after a crash).
    const n = this.outbox.recover(this.nodeId, nowMs, !this.rebuilt)
    this.rebuilt = true
    return n
  }

  async nextDueAt (): Promise<number | null> {
    return this.outbox.nextDueAt()
  }

  async replay (domainId: string, kind: EventKind, sinceMs: number, nowMs: number): Promise<number> {
    let from = this.outbox.replayStart(domainId, kind, sinceMs, this.now())
    while (from !== null) {
      from = this.outbox.replayBatch(domainId, kind, sinceMs, from, this.now())
      await yieldToOthers()
    }
    return this.outbox.finishReplay(domainId, kind, sinceMs, nowMs)
  }

  async initSetting (key: string, value: string): Promise<string> {
    return this.writes.add(() => this.push.initSetting(key, value))
  }

  async addPushSubscription (s: PushSubscriptionRow, max: number): Promise<void> {
    await this.writes.add(() => this.push.addSubscription(s, max))
  }

  async removePushSubscription (domainId: string, userid: number, endpoint: string): Promise<boolean> {
    return this.writes.add(() => this.push.removeSubscription(domainId, userid, endpoint))
  }

  async listPushSubscriptions (domainId: string, userid: number): Promise<PushSubscriptionRow[]> {
    const rows = this.push.listSubscriptions(domainId, userid)
    await this.writes.barrier()
    return rows
  }

  /** One node: chat knows whether the user has a connection; every subscription gets its push. */
  async queuePush (domainId: string, userid: number, payload: string, at: number): Promise<{ subscriptions: number, queued: number }> {
    if (!this.push.hasSubscriptions(domainId, userid)) return { subscriptions: 0, queued: 0 }
    const queued = await this.writes.add(() => this.push.queue(domainId, userid, payload, at))
    return { subscriptions: queued, queued }
  }

  async claimPushes (nodeId: string, nowMs: number, leaseUntil: number, limit: number): Promise<ClaimedPush[]> {
    if (!this.push.anyDue(nowMs)) return []
    return this.writes.add(() => this.push.claim(nodeId, nowMs, leaseUntil, limit))
  }

  async finishPush (id: number, nodeId: string, o: PushOutcome): Promise<void> {
    await this.writes.add(() => this.push.finish(id, nodeId, o))
  }

  async countPushes (): Promise<number> {
    return this.push.count()
  }

  async listLogs (domainId: string, kind: EventKind, q: { limit: number, result?: 'ok' | 'failed', before?: number }): Promise<LogRow[]> {
    return this.outbox.listLogs(domainId, kind, q)
  }

  async pruneLogs (keep: number, olderThanMs: number): Promise<number> {
    return this.outbox.pruneLogs(keep, olderThanMs)
  }

  async pruneEvents (olderThanMs: number): Promise<number> {
    let removed = 0
    for (;;) {
      const n = this.outbox.pruneEvents(olderThanMs, PRUNE_BATCH)
      removed += n
      if (n < PRUNE_BATCH) return removed
      await yieldToOthers()
    }
  }
}

/** Lets other work run between the batches of a long operation. */
const yieldToOthers = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

interface DbDomain { id: string, name: string, tokenSecret: string, createdAt: number, retentionDays: number, allowedOrigins: string, contacts: DomainRow['contacts'] }
const toDomain = (r: DbDomain): DomainRow => ({ ...r, allowedOrigins: JSON.parse(r.allowedOrigins) })
const DOMAIN_COLS = 'id, name, token_secret AS tokenSecret, created_at AS createdAt, retention_days AS retentionDays, allowed_origins AS allowedOrigins, contacts'
const FILE_COLS = `domain_id AS domainId, id, content_type AS contentType, size, thumbnail_size AS thumbnailSize,
  width, height, duration_ms AS durationMs, created_at AS createdAt, attached_at AS attachedAt`
/** No message carries the file: never sent and older than the cut-off (@cutoff), or sent and all its messages gone. */
const SWEEPABLE = `((f.attached_at IS NULL AND f.created_at < @cutoff)
  OR (f.attached_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.domain_id = f.domain_id AND m.file_id = f.id)))`

const MSG_COLS = 'id, domain_id, from_userid, to_userid, type, message, p1, p2, p3, created_at'

/**
 * A user's mail is two index ranges (sent: messages_from or messages_pair, received:
 * messages_to or messages_pair); each side is limited on its own, then merged, so neither
 * side scans more than `limit` rows. A self-conversation appears once (UNION, not UNION ALL).
 */
function twoSided (where1: string, where2: string, order: 'ASC' | 'DESC'): string {
  return `SELECT * FROM (
      SELECT ${MSG_COLS} FROM messages WHERE ${where1} ORDER BY id ${order} LIMIT ?)
    UNION
    SELECT * FROM (
      SELECT ${MSG_COLS} FROM messages WHERE ${where2} ORDER BY id ${order} LIMIT ?)
    ORDER BY id ${order} LIMIT ?`
}

function prepare (db: Database.Database) {
  return {
    insertDomain: db.prepare('INSERT INTO domains (id, name, api_key_hash, token_secret, created_at) VALUES (?, ?, ?, ?, ?)'),
    getDomain: db.prepare(`SELECT ${DOMAIN_COLS} FROM domains WHERE id = ?`),
    listDomains: db.prepare(`SELECT ${DOMAIN_COLS} FROM domains ORDER BY id`),
    updateDomain: db.prepare(`UPDATE domains SET name = coalesce(@name, name), retention_days = coalesce(@retentionDays, retention_days),
      allowed_origins = coalesce(@allowedOrigins, allowed_origins), contacts = coalesce(@contacts, contacts) WHERE id = @id`),
    domainByKey: db.prepare('SELECT id FROM domains WHERE api_key_hash = ?'),
    setDomainKey: db.prepare('UPDATE domains SET api_key_hash = ? WHERE id = ?'),

    ensureUser: db.prepare("INSERT INTO presence (domain_id, userid, status, changed_at) VALUES (?, ?, 'offline', ?) ON CONFLICT DO NOTHING"),
    getPresence: db.prepare('SELECT userid, status, changed_at AS changedAt FROM presence WHERE domain_id = ? AND userid = ?'),
    listPresence: db.prepare('SELECT userid, status, changed_at AS changedAt FROM presence WHERE domain_id = ? ORDER BY userid'),
    listPresenceByStatus: db.prepare('SELECT userid, status, changed_at AS changedAt FROM presence WHERE domain_id = ? AND status = ? ORDER BY userid'),
    // INDEXED BY presence_present (003): left to itself, without statistics, the planner walks
    // the primary key through every user the domain ever had (10,000 rows: 0.45 ms even when
    // nobody is there); the partial index costs what is present, one primary-key look-up each.
    listPresent: db.prepare("SELECT userid, status, changed_at AS changedAt FROM presence INDEXED BY presence_present WHERE domain_id = ? AND status <> 'offline' ORDER BY userid"),
    orphaned: db.prepare("SELECT domain_id AS domainId, userid, status, changed_at AS changedAt FROM presence WHERE status <> 'offline' AND node_id IS NOT ?"),
    upsertPresence: db.prepare(`INSERT INTO presence (domain_id, userid, status, changed_at, node_id) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (domain_id, userid) DO UPDATE SET status = excluded.status, changed_at = excluded.changed_at, node_id = excluded.node_id`),

    insertMessage: db.prepare('INSERT INTO messages (domain_id, from_userid, to_userid, type, message, p1, p2, p3, created_at, file_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'),
    attachFile: db.prepare('UPDATE files SET attached_at = ? WHERE domain_id = ? AND id = ? AND attached_at IS NULL'),

    insertFile: db.prepare(`INSERT INTO files (domain_id, id, content_type, size, thumbnail_size, width, height, duration_ms, created_at, attached_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    getFile: db.prepare(`SELECT ${FILE_COLS} FROM files WHERE domain_id = ? AND id = ?`),
    storedBytes: db.prepare('SELECT coalesce(sum(size + thumbnail_size), 0) AS n FROM files WHERE domain_id = ?'),
    // Walks every file by key, a batch at a time: attached files are checked one index probe
    // each (messages_file), a cost per sweep that grows with the files kept, paid in batches
    // off the hot path, instead of a trigger on every message deletion.
    sweepable: db.prepare(`SELECT ${FILE_COLS} FROM files f WHERE (domain_id, id) > (@domainId, @id) AND ${SWEEPABLE} ORDER BY domain_id, id LIMIT @limit`),
    deleteFile: db.prepare(`DELETE FROM files AS f WHERE domain_id = @domainId AND id = @id AND ${SWEEPABLE}`),

    domainBefore: db.prepare(`SELECT ${MSG_COLS} FROM messages WHERE domain_id = ? AND id < ? ORDER BY id DESC LIMIT ?`),
    domainAfter: db.prepare(`SELECT ${MSG_COLS} FROM messages WHERE domain_id = ? AND id > ? ORDER BY id ASC LIMIT ?`),
    userBefore: db.prepare(twoSided('domain_id = ? AND from_userid = ? AND id < ?', 'domain_id = ? AND to_userid = ? AND id < ?', 'DESC')),
    userAfter: db.prepare(twoSided('domain_id = ? AND from_userid = ? AND id > ?', 'domain_id = ? AND to_userid = ? AND id > ?', 'ASC')),
    pairBefore: db.prepare(twoSided('domain_id = ? AND from_userid = ? AND to_userid = ? AND id < ?', 'domain_id = ? AND from_userid = ? AND to_userid = ? AND id < ?', 'DESC')),
    pairAfter: db.prepare(twoSided('domain_id = ? AND from_userid = ? AND to_userid = ? AND id > ?', 'domain_id = ? AND from_userid = ? AND to_userid = ? AND id > ?', 'ASC')),

    listEvents: db.prepare(`SELECT id, domain_id AS domainId, kind, userid, webhook_id AS webhookId, body, created_at AS createdAt, state
      FROM events WHERE domain_id = ? AND kind = ? AND id > ? ORDER BY id LIMIT ?`)
  }
}
