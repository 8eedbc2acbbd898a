// Web push on PostgreSQL (SPEC §10.1): server settings, subscriptions, and the push jobs,
// which any node claims with a lease (as the outbox's queues are).
import { pushClaimableSql } from '../lease-rules.ts'
import type { ClaimedPush, PushOutcome, PushSubscriptionRow } from '../types.ts'
import type { Query, Tx } from './tx.ts'

const SUB_COLS = 'domain_id AS "domainId", userid, endpoint, p256dh, auth, created_at AS "createdAt"'

export class PushPg {
  constructor (private readonly q: Query, private readonly tx: Tx) {}

  async initSetting (key: string, value: string): Promise<string> {
    // Two nodes starting together: one insert wins, both read the winner.
    await this.q('INSERT INTO server_settings (key, value) VALUES ($1, $2) ON CONFLICT DO NOTHING', [key, value])
    return (await this.q<{ value: string }>('SELECT value FROM server_settings WHERE key = $1', [key])).rows[0]!.value
  }

  async addSubscription (s: PushSubscriptionRow, max: number): Promise<void> {
    await this.tx(async (c) => {
      // Registered for another user before (a shared browser): its pushes go with it.
      await c.query('DELETE FROM push_jobs WHERE domain_id = $1 AND endpoint = $2 AND userid <> $3', [s.domainId, s.endpoint, s.userid])
      await c.query(`INSERT INTO push_subscriptions (domain_id, endpoint, userid, p256dh, auth, created_at) VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (domain_id, endpoint) DO UPDATE SET userid = excluded.userid, p256dh = excluded.p256dh, auth = excluded.auth, created_at = excluded.created_at`,
      [s.domainId, s.endpoint, s.userid, s.p256dh, s.auth, s.createdAt])
      await c.query(`DELETE FROM push_subscriptions WHERE domain_id = $1 AND userid = $2 AND endpoint NOT IN (
        SELECT endpoint FROM push_subscriptions WHERE domain_id = $1 AND userid = $2 ORDER BY created_at DESC, endpoint DESC LIMIT $3)`, [s.domainId, s.userid, max])
    })
  }

  async removeSubscription (domainId: string, userid: number, endpoint: string): Promise<boolean> {
    const r = await this.q(`WITH s AS (DELETE FROM push_subscriptions WHERE domain_id = $1 AND userid = $2 AND endpoint = $3 RETURNING 1),
      j AS (DELETE FROM push_jobs WHERE domain_id = $1 AND endpoint = $3 AND EXISTS (SELECT 1 FROM s))
      SELECT count(*) AS n FROM s`, [domainId, userid, endpoint])
    return Number(r.rows[0].n) > 0
  }

  async listSubscriptions (domainId: string, userid: number): Promise<PushSubscriptionRow[]> {
    return (await this.q<PushSubscriptionRow>(`SELECT ${SUB_COLS} FROM push_subscriptions WHERE domain_id = $1 AND userid = $2 ORDER BY created_at, endpoint`, [domainId, userid])).rows
  }

  /**
   * One statement: the user's subscriptions (one probe of push_subscriptions_user, nothing
   * more for a user without any) get a push each, unless a node counts a socket of the user
   * (SPEC §10.1: "no open connection when it is stored", on any node).
   */
  async queue (domainId: string, userid: number, payload: string, at: number): Promise<{ subscriptions: number, queued: number }> {
    const r = await this.q(`WITH subs AS (SELECT endpoint FROM push_subscriptions WHERE domain_id = $1 AND userid = $2),
      ins AS (INSERT INTO push_jobs (domain_id, userid, endpoint, payload, next_at, created_at)
        SELECT $1, $2, endpoint, $3, $4, $4 FROM subs
        WHERE NOT EXISTS (SELECT 1 FROM connections c WHERE c.domain_id = $1 AND c.userid = $2) RETURNING 1)
      SELECT (SELECT count(*) FROM subs) AS subs, (SELECT count(*) FROM ins) AS queued`, [domainId, userid, payload, at])
    return { subscriptions: Number(r.rows[0].subs), queued: Number(r.rows[0].queued) }
  }

  async claim (nodeId: string, nowMs: number, leaseUntil: number, limit: number): Promise<ClaimedPush[]> {
    // SKIP LOCKED: nodes claiming at once take different jobs instead of waiting for each other.
    const rows = (await this.q(`WITH c AS (UPDATE push_jobs SET locked_by = $1, locked_until = $2 WHERE id IN (
        SELECT id FROM push_jobs WHERE ${pushClaimableSql('$3')} ORDER BY next_at, id LIMIT $4 FOR UPDATE SKIP LOCKED)
        RETURNING id, domain_id, userid, endpoint, payload, attempts, created_at)
      SELECT c.id, c.domain_id AS "domainId", c.userid, c.endpoint, c.payload, c.attempts, c.created_at AS "createdAt", s.p256dh, s.auth
      FROM c LEFT JOIN push_subscriptions s ON s.domain_id = c.domain_id AND s.endpoint = c.endpoint AND s.userid = c.userid
      ORDER BY c.id`, [nodeId, leaseUntil, nowMs, limit])).rows
    return rows.map(({ p256dh, auth, ...job }) => ({ ...job, keys: p256dh === null ? null : { p256dh, auth } }))
  }

  async finish (id: number, nodeId: string, o: PushOutcome): Promise<void> {
    if (o.outcome === 'retry') {
      await this.q('UPDATE push_jobs SET attempts = attempts + 1, next_at = $3, locked_by = NULL, locked_until = NULL WHERE id = $1 AND locked_by = $2', [id, nodeId, o.retryAt])
    } else if (o.outcome === 'gone') {
      await this.q(`WITH j AS (DELETE FROM push_jobs WHERE id = $1 AND locked_by = $2 RETURNING domain_id, endpoint),
        s AS (DELETE FROM push_subscriptions p USING j WHERE p.domain_id = j.domain_id AND p.endpoint = j.endpoint)
        DELETE FROM push_jobs p USING j WHERE p.domain_id = j.domain_id AND p.endpoint = j.endpoint AND p.id <> $1`, [id, nodeId])
    } else {
      await this.q('DELETE FROM push_jobs WHERE id = $1 AND locked_by = $2', [id, nodeId])
    }
  }

  async count (): Promise<number> {
    return Number((await this.q('SELECT count(*) AS n FROM push_jobs')).rows[0].n)
  }

  async eraseUser (domainId: string, userid: number): Promise<void> {
    await this.q('DELETE FROM push_subscriptions WHERE domain_id = $1 AND userid = $2', [domainId, userid])
    await this.q('DELETE FROM push_jobs WHERE domain_id = $1 AND userid = $2', [domainId, userid])
  }
}
