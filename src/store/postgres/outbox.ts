// The outbox on PostgreSQL: callbacks, their events' queues, claims, completions (with the
// chain of migration 016), replay, recovery, logs and their retention. The SQL that decides
// runs in the database (migrations 008, 015, 016): one round trip and one commit a batch.
import type pg from 'pg'
import { REPLAY_BATCH, REPLAY_PAUSE_MS } from '../outbox-rules.ts'
import { CALLBACK_PATCH_COLUMNS } from '../rows.ts'
import { claimedEvent, type ClaimRow } from '../claimed.ts'
import type { CallbackPatch, CallbackRow, ClaimedEvent, Completed, Completion, EventKind, EventRow, LogRow } from '../types.ts'
import { isUnavailable, unavailable } from './errors.ts'
import type { Query, Tx } from './tx.ts'

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

const LOG_COLS = `id, domain_id AS "domainId", kind, event_id AS "eventId", webhook_id AS "webhookId", at, url,
  request_headers AS "requestHeaders", request_body AS "requestBody", response_status AS "responseStatus",
  response_body AS "responseBody", duration_ms AS "durationMs", error, attempt, result`
const CB_COLS = `domain_id AS "domainId", kind, url, enabled, disabled_reason AS "disabledReason", disabled_at AS "disabledAt",
  signing_secret AS "signingSecret", previous_secret AS "previousSecret", previous_secret_until AS "previousSecretUntil",
  last_success_at AS "lastSuccessAt", last_failure_at AS "lastFailureAt"`
/** A replay's events in flight: pending again once their attempt ends (they go out again in turn). */
const REQUEUE_IN_FLIGHT = `UPDATE events SET requeued = true WHERE state = 'pending' AND created_at >= $3 AND id IN (
  SELECT head_id FROM outbox_queues WHERE domain_id = $1 AND kind = $2 AND locked_by IS NOT NULL)`

export class OutboxPg {
  private completions: Array<{ c: Completion, resolve: (done: Completed) => void, reject: (e: unknown) => void }> = []
  private completing: Promise<void> | null = null
  private completers = 0
  private rebuilt = false

  constructor (private readonly pool: pg.Pool, private readonly q: Query, private readonly tx: Tx,
    private readonly nodeId: string, private readonly now: () => number) {}

  /** Completions still being written are written (a stopping node). */
  async drain (): Promise<void> {
    while (this.completers > 0) await this.completing
  }

  /** Leaving cleanly: what this node held is free for the others at once. */
  async releaseAll (): Promise<void> {
    await this.q('UPDATE outbox_queues SET locked_by = NULL, locked_until = NULL, ready_at = least(ready_at, $2) WHERE locked_by = $1', [this.nodeId, this.now()])
  }

  async listEvents (domainId: string, kind: EventKind, afterId: number, limit: number): Promise<EventRow[]> {
    return (await this.q<EventRow>(`SELECT id, domain_id AS "domainId", kind, userid, webhook_id AS "webhookId", body, created_at AS "createdAt", state
      FROM events WHERE domain_id = $1 AND kind = $2 AND id > $3 ORDER BY id LIMIT $4`, [domainId, kind, afterId, limit])).rows
  }

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
        const r = await againOnDeadlock(() => this.q<{ out: Array<{ held: boolean, next?: ClaimRow }> }>('SELECT mqchat_complete_all_next($1::jsonb, $2) AS out', [body, REPLAY_BATCH]))
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
