// One presence per user across the nodes sharing the database (SPEC §3, §6): the SQL side of
// chat/'s shared presence. Every transition is one call of a function of migration
// 009_presence.sql, which locks the user's row and re-checks its condition, so two nodes
// never write the same change twice. Each user's row is read (and first written) by
// PresenceRowsPg, below.
import type pg from 'pg'
import type { EventDraft, PresenceRow, PresenceStatus, SharedPresenceStore } from '../types.ts'
import { isUnavailable, unavailable } from './errors.ts'
import { type Query, transaction } from './tx.ts'

export class PgPresence implements SharedPresenceStore {
  constructor (
    private readonly pool: pg.Pool,
    private readonly nodeId: string,
    private readonly now: () => number,
    private readonly reaped: (nodes: number) => void
  ) {}

  private async q (sql: string, params: unknown[]): Promise<pg.QueryResult> {
    try {
      return await this.pool.query(sql, params)
    } catch (err) {
      throw isUnavailable(err) ? unavailable(err) : err
    }
  }

  async connect (domainId: string, userid: number, at: number, event: EventDraft): Promise<boolean> {
    const r = await this.q('SELECT mqchat_presence_connect($1, $2, $3, $4, $5, $6, $7) AS changed', [domainId, userid, this.nodeId, at, event.webhookId, event.body, this.now()])
    return r.rows[0].changed
  }

  async disconnect (domainId: string, userid: number, dueAt: number): Promise<void> {
    await this.q('SELECT mqchat_presence_disconnect($1, $2, $3, $4)', [domainId, userid, this.nodeId, dueAt])
  }

  async setStatus (domainId: string, userid: number, status: Exclude<PresenceStatus, 'offline'>, at: number, event: EventDraft): Promise<boolean> {
    const r = await this.q('SELECT mqchat_presence_status($1, $2, $3, $4, $5, $6, $7, $8) AS changed', [domainId, userid, status, this.nodeId, at, event.webhookId, event.body, this.now()])
    return r.rows[0].changed
  }

  async offline (domainId: string, userid: number, at: number, dueOnly: boolean, event: EventDraft): Promise<boolean> {
    const r = await this.q('SELECT mqchat_presence_offline($1, $2, $3, $4, $5, $6, $7, $8) AS changed', [domainId, userid, at, dueOnly, this.now(), event.webhookId, event.body, this.now()])
    return r.rows[0].changed
  }

  async due (): Promise<Array<{ domainId: string, userid: number, dueAt: number | null }>> {
    const now = this.now()
    // Nodes whose row ran out are gone: their sockets with them. The WHERE is evaluated at
    // the moment of the delete, so a node that renewed its row meanwhile is kept.
    const gone = await this.q(`WITH gone AS (DELETE FROM nodes WHERE alive_until < $1 AND id <> $2 RETURNING id)
      DELETE FROM connections c USING gone WHERE c.node_id = gone.id`, [now, this.nodeId])
    if ((gone.rowCount ?? 0) > 0) this.reaped(gone.rowCount ?? 0)
    // Users whose grace time ran out, and users present with no socket anywhere (their node
    // is gone, or it died before it could count them).
    return (await this.q(`SELECT domain_id AS "domainId", userid, offline_due_at AS "dueAt" FROM presence p
      WHERE status <> 'offline' AND (offline_due_at <= $1
        OR (offline_due_at IS NULL AND NOT EXISTS (SELECT 1 FROM connections c WHERE c.domain_id = p.domain_id AND c.userid = p.userid)))
      ORDER BY offline_due_at NULLS LAST LIMIT 5000`, [now])).rows
  }

  async resync (counts: Array<{ domainId: string, userid: number, sockets: number }>): Promise<void> {
    await transaction(this.pool, async (client) => {
      await client.query('DELETE FROM connections WHERE node_id = $1', [this.nodeId])
      if (counts.length > 0) {
        await client.query(`INSERT INTO connections (domain_id, userid, node_id, sockets)
          SELECT d, u, $4, s FROM unnest($1::text[], $2::bigint[], $3::int[]) AS x(d, u, s)`,
        [counts.map((c) => c.domainId), counts.map((c) => c.userid), counts.map((c) => c.sockets), this.nodeId])
      }
    })
  }

  async countNodes (): Promise<number> {
    return Number((await this.q('SELECT count(*) AS n FROM nodes WHERE alive_until >= $1', [this.now()])).rows[0].n)
  }

  async leave (): Promise<void> {
    await this.q('DELETE FROM connections WHERE node_id = $1', [this.nodeId])
  }
}

/** Each user's presence row: the reads, and the `offline` row a user gets with its first token. */
export class PresenceRowsPg {
  constructor (private readonly q: Query, private readonly now: () => number) {}

  async ensureUser (domainId: string, userid: number, at: number): Promise<void> {
    await this.q("INSERT INTO presence (domain_id, userid, status, changed_at) VALUES ($1, $2, 'offline', $3) ON CONFLICT DO NOTHING", [domainId, userid, at])
  }

  async get (domainId: string, userid: number): Promise<PresenceRow | null> {
    return (await this.q<PresenceRow>('SELECT userid, status, changed_at AS "changedAt" FROM presence WHERE domain_id = $1 AND userid = $2', [domainId, userid])).rows[0] ?? null
  }

  async list (domainId: string, status?: PresenceStatus): Promise<PresenceRow[]> {
    return (status === undefined
      ? await this.q<PresenceRow>('SELECT userid, status, changed_at AS "changedAt" FROM presence WHERE domain_id = $1 ORDER BY userid', [domainId])
      : await this.q<PresenceRow>('SELECT userid, status, changed_at AS "changedAt" FROM presence WHERE domain_id = $1 AND status = $2 ORDER BY userid', [domainId, status])).rows
  }

  async listPresent (domainId: string): Promise<PresenceRow[]> {
    return (await this.q<PresenceRow>(`SELECT userid, status, changed_at AS "changedAt" FROM presence
      WHERE domain_id = $1 AND status <> 'offline' ORDER BY userid`, [domainId])).rows
  }

  /** Users left present by a node that is no longer alive. */
  async orphaned (): Promise<Array<PresenceRow & { domainId: string }>> {
    return (await this.q(`SELECT domain_id AS "domainId", userid, status, changed_at AS "changedAt" FROM presence p
      WHERE status <> 'offline' AND NOT EXISTS (SELECT 1 FROM nodes n WHERE n.id = p.node_id AND n.alive_until >= $1)`, [this.now()])).rows
  }
}
