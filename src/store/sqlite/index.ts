// The embedded store: SQLite through better-sqlite3, in MQCHAT_DATA_DIR, WAL mode. This class
// is the lifecycle and the wiring: each family's SQL is a file of its own (domains.ts,
// presence.ts, people.ts, messages.ts, files.ts, outbox.ts, push.ts), and its writes go
// through the group commit here. Over 300 lines because each Store method is a short handover
// here: which writes join the group commit, which reads wait for its sync (barrier), and the
// long operations cut into batches that yield the event loop (holdPending, replay).
import fs from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import { AppError } from '../../errors.ts'
import type { Logger } from '../../log.ts'
import type {
  CallbackPatch, CallbackRow, ClaimedEvent, Completed, Completion, ConversationRow, DomainPatch, DomainRow, EventDraft, EventKind, EventRow, FileRow, LogRow,
  MessageQuery, MessageRow, NewDomain, NewMessage, PresenceChange, PresenceRow, PresenceStatus, ProfilePatch, ReadResult, Store, UserQuery, UserRow,
  ClaimedPush, PushOutcome, PushSubscriptionRow
} from '../types.ts'
import { DomainsSql } from './domains.ts'
import { FilesSql } from './files.ts'
import { MessagesSql } from './messages.ts'
import { PeopleSql } from './people.ts'
import { PresenceSql } from './presence.ts'
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

export class SqliteStore implements Store {
  private db!: Database.Database
  private writes!: GroupCommit
  private q!: ReturnType<typeof prepare>
  private outbox!: OutboxSql
  private domains!: DomainsSql
  private presence!: PresenceSql
  private people!: PeopleSql
  private messages!: MessagesSql
  private files!: FilesSql
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
    this.domains = new DomainsSql(this.db)
    this.presence = new PresenceSql(this.db)
    this.people = new PeopleSql(this.db, this.presence)
    this.messages = new MessagesSql(this.db, this.people, this.outbox)
    this.files = new FilesSql(this.db)
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
    this.domains.create(d)
  }

  async getDomain (id: string): Promise<DomainRow | null> {
    return this.domains.get(id)
  }

  async listDomains (): Promise<DomainRow[]> {
    return this.domains.list()
  }

  async updateDomain (id: string, patch: DomainPatch): Promise<DomainRow | null> {
    return this.domains.update(id, patch)
  }

  async domainIdByKeyHash (hash: string): Promise<string | null> {
    return this.domains.idByKeyHash(hash)
  }

  async setDomainKeyHash (id: string, hash: string): Promise<void> {
    this.domains.setKeyHash(id, hash)
  }

  async ensureUser (domainId: string, userid: number, at: number): Promise<void> {
    // Each token minted (a visitor's page load) writes: in the group commit, so that its
    // sync is shared and never stands the event loop still.
    await this.writes.add(() => this.presence.ensureUser(domainId, userid, at))
  }

  async getPresence (domainId: string, userid: number): Promise<PresenceRow | null> {
    return this.presence.get(domainId, userid)
  }

  async listPresence (domainId: string, status?: PresenceStatus): Promise<PresenceRow[]> {
    return this.presence.list(domainId, status)
  }

  async listPresent (domainId: string): Promise<PresenceRow[]> {
    return this.presence.listPresent(domainId)
  }

  /** The embedded database has one node, this process: whoever another node id left present was left so by a crash. */
  async listOrphanedPresence (): Promise<Array<PresenceRow & { domainId: string }>> {
    return this.presence.orphaned(this.nodeId)
  }

  changePresence (c: PresenceChange): Promise<void> {
    return this.writes.add(() => {
      this.presence.write(c, this.nodeId)
      this.outbox.writeEvent(c.domainId, 'presence', c.userid, c.event.webhookId, c.event.body, c.at)
    })
  }

  appendMessage (m: NewMessage, eventFor: (row: MessageRow) => EventDraft): Promise<MessageRow> {
    return this.writes.add(() => this.messages.append(m, eventFor))
      .then((r) => r instanceof AppError ? Promise.reject(r) : r)
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
    const rows = this.messages.list(q)
    // Shown only once on disk (group-commit.ts).
    await this.writes.barrier()
    return rows
  }

  async listEvents (domainId: string, kind: EventKind, afterId: number, limit: number): Promise<EventRow[]> {
    const rows = this.q.listEvents.all(domainId, kind, afterId, limit) as EventRow[]
    await this.writes.barrier()
    return rows
  }

  async createFile (f: FileRow): Promise<void> {
    await this.writes.add(() => this.files.create(f))
  }

  async getFile (domainId: string, id: string): Promise<FileRow | null> {
    return this.files.get(domainId, id)
  }

  async storedBytes (domainId: string): Promise<number> {
    return this.files.storedBytes(domainId)
  }

  async sweepableFiles (unattachedBefore: number, after: { domainId: string, id: string } | null, limit: number): Promise<FileRow[]> {
    return this.files.sweepable(unattachedBefore, after, limit)
  }

  async deleteFile (domainId: string, id: string, unattachedBefore: number): Promise<boolean> {
    return this.writes.add(() => this.files.delete(domainId, id, unattachedBefore))
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

  async complete (c: Completion): Promise<Completed> {
    const done = await this.writes.add(() => this.outbox.complete(c))
    if (done.held && c.outcome === 'disable') await this.holdPending(c.domainId, c.kind)
    return done
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

/** What is left here of the SQL: the events list, with the outbox's methods. */
function prepare (db: Database.Database) {
  return {
    listEvents: db.prepare(`SELECT id, domain_id AS domainId, kind, userid, webhook_id AS webhookId, body, created_at AS createdAt, state
      FROM events WHERE domain_id = ? AND kind = ? AND id > ? ORDER BY id LIMIT ?`)
  }
}
