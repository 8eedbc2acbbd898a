// Web push on the embedded store (SPEC §10.1): server settings, subscriptions, and the push
// jobs with their leases. Writes are functions the group commit runs in its transaction.
import type Database from 'better-sqlite3'
import { pushClaimableSql } from '../lease-rules.ts'
import type { ClaimedPush, PushOutcome, PushSubscriptionRow } from '../types.ts'

const SUB_COLS = 'domain_id AS domainId, userid, endpoint, p256dh, auth, created_at AS createdAt'

export class PushSql {
  private readonly q

  constructor (db: Database.Database) {
    this.q = {
      insertSetting: db.prepare('INSERT INTO server_settings (key, value) VALUES (?, ?) ON CONFLICT DO NOTHING'),
      getSetting: db.prepare('SELECT value FROM server_settings WHERE key = ?'),
      upsertSub: db.prepare(`INSERT INTO push_subscriptions (domain_id, endpoint, userid, p256dh, auth, created_at) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (domain_id, endpoint) DO UPDATE SET userid = excluded.userid, p256dh = excluded.p256dh, auth = excluded.auth, created_at = excluded.created_at`),
      // The user's newest `max` stay; the rest (oldest first) go.
      trimSubs: db.prepare(`DELETE FROM push_subscriptions WHERE domain_id = ? AND userid = ? AND endpoint NOT IN (
        SELECT endpoint FROM push_subscriptions WHERE domain_id = ? AND userid = ? ORDER BY created_at DESC, endpoint DESC LIMIT ?)`),
      deleteSub: db.prepare('DELETE FROM push_subscriptions WHERE domain_id = ? AND userid = ? AND endpoint = ?'),
      deleteSubAny: db.prepare('DELETE FROM push_subscriptions WHERE domain_id = ? AND endpoint = ?'),
      deleteJobsOf: db.prepare('DELETE FROM push_jobs WHERE domain_id = ? AND endpoint = ?'),
      listSubs: db.prepare(`SELECT ${SUB_COLS} FROM push_subscriptions INDEXED BY push_subscriptions_user WHERE domain_id = ? AND userid = ? ORDER BY created_at, endpoint`),
      anySub: db.prepare('SELECT 1 FROM push_subscriptions INDEXED BY push_subscriptions_user WHERE domain_id = ? AND userid = ? LIMIT 1'),
      queue: db.prepare(`INSERT INTO push_jobs (domain_id, userid, endpoint, payload, next_at, created_at)
        SELECT domain_id, userid, endpoint, ?, ?, ? FROM push_subscriptions INDEXED BY push_subscriptions_user WHERE domain_id = ? AND userid = ?`),
      anyDue: db.prepare(`SELECT 1 FROM push_jobs WHERE ${pushClaimableSql('?')} LIMIT 1`),
      due: db.prepare(`SELECT id FROM push_jobs WHERE ${pushClaimableSql('?')} ORDER BY next_at, id LIMIT ?`),
      lease: db.prepare(`UPDATE push_jobs SET locked_by = ?, locked_until = ? WHERE id = ?
        RETURNING id, domain_id AS domainId, userid, endpoint, payload, attempts, created_at AS createdAt`),
      keysOf: db.prepare('SELECT p256dh, auth FROM push_subscriptions WHERE domain_id = ? AND endpoint = ? AND userid = ?'),
      jobOf: db.prepare('SELECT domain_id AS domainId, endpoint FROM push_jobs WHERE id = ? AND locked_by = ?'),
      deleteJob: db.prepare('DELETE FROM push_jobs WHERE id = ? AND locked_by = ?'),
      retryJob: db.prepare('UPDATE push_jobs SET attempts = attempts + 1, next_at = ?, locked_by = NULL, locked_until = NULL WHERE id = ? AND locked_by = ?'),
      count: db.prepare('SELECT count(*) AS n FROM push_jobs'),
      eraseSubs: db.prepare('DELETE FROM push_subscriptions WHERE domain_id = ? AND userid = ?'),
      eraseJobs: db.prepare('DELETE FROM push_jobs WHERE domain_id = ? AND userid = ?')
    }
  }

  initSetting (key: string, value: string): string {
    this.q.insertSetting.run(key, value)
    return (this.q.getSetting.get(key) as { value: string }).value
  }

  addSubscription (s: PushSubscriptionRow, max: number): void {
    // Registered for another user before (a shared browser): its pushes go with it.
    const other = this.q.keysOf.get(s.domainId, s.endpoint, s.userid) === undefined
    if (other) this.q.deleteJobsOf.run(s.domainId, s.endpoint)
    this.q.upsertSub.run(s.domainId, s.endpoint, s.userid, s.p256dh, s.auth, s.createdAt)
    this.q.trimSubs.run(s.domainId, s.userid, s.domainId, s.userid, max)
  }

  removeSubscription (domainId: string, userid: number, endpoint: string): boolean {
    const gone = this.q.deleteSub.run(domainId, userid, endpoint).changes > 0
    if (gone) this.q.deleteJobsOf.run(domainId, endpoint)
    return gone
  }

  listSubscriptions (domainId: string, userid: number): PushSubscriptionRow[] {
    return this.q.listSubs.all(domainId, userid) as PushSubscriptionRow[]
  }

  /** A read, outside the group commit: a user without subscriptions adds nothing to a batch. */
  hasSubscriptions (domainId: string, userid: number): boolean {
    return this.q.anySub.get(domainId, userid) !== undefined
  }

  queue (domainId: string, userid: number, payload: string, at: number): number {
    return this.q.queue.run(payload, at, at, domainId, userid).changes
  }

  /** A read, outside the group commit: the worker's poll costs no transaction while nothing is due. */
  anyDue (nowMs: number): boolean {
    return this.q.anyDue.get(nowMs, nowMs) !== undefined
  }

  claim (nodeId: string, nowMs: number, leaseUntil: number, limit: number): ClaimedPush[] {
    const out: ClaimedPush[] = []
    for (const { id } of this.q.due.all(nowMs, nowMs, limit) as Array<{ id: number }>) {
      const job = this.q.lease.get(nodeId, leaseUntil, id) as Omit<ClaimedPush, 'keys'>
      const keys = (this.q.keysOf.get(job.domainId, job.endpoint, job.userid) as { p256dh: string, auth: string } | undefined) ?? null
      out.push({ ...job, keys })
    }
    return out
  }

  finish (id: number, nodeId: string, o: PushOutcome): void {
    if (o.outcome === 'retry') {
      this.q.retryJob.run(o.retryAt, id, nodeId)
      return
    }
    const job = this.q.jobOf.get(id, nodeId) as { domainId: string, endpoint: string } | undefined
    if (job === undefined) return
    this.q.deleteJob.run(id, nodeId)
    if (o.outcome === 'gone') {
      this.q.deleteSubAny.run(job.domainId, job.endpoint)
      this.q.deleteJobsOf.run(job.domainId, job.endpoint)
    }
  }

  count (): number {
    return (this.q.count.get() as { n: number }).n
  }

  /** The user is erased: its subscriptions and pushes go. */
  eraseUser (domainId: string, userid: number): void {
    this.q.eraseSubs.run(domainId, userid)
    this.q.eraseJobs.run(domainId, userid)
  }
}
