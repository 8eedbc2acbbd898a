// Group commit for PostgreSQL: the messages and presence changes queued while one batch is
// being written go together in the next, one transaction of a few statements whatever its
// size (each statement takes its rows as arrays), so a commit's round trips and WAL flush
// are paid per batch, not per message. One batch at a time: call order is commit order.
//
// Each user whose events a batch writes is locked first (a transaction-scoped advisory
// lock, taken in one sorted order so that two nodes' batches cannot deadlock), and only then
// are ids taken: two nodes writing for one user commit in id order, so the user's outbox
// queue never sees a later event before an earlier one (the order SPEC §4.4 promises).
import type pg from 'pg'
import type { EventDraft, MessageRow, NewMessage, PresenceChange } from '../types.ts'
import { isUnavailable, unavailable } from './errors.ts'
import { conversationsAfter } from './people.ts'

type Write =
  | { kind: 'message', m: NewMessage, eventFor: (row: MessageRow) => EventDraft, resolve: (r: MessageRow) => void, reject: (e: unknown) => void }
  | { kind: 'presence', c: PresenceChange, resolve: (r: undefined) => void, reject: (e: unknown) => void }

/** A batch is cut at this size, so a huge burst does not make one long transaction. */
const MAX_BATCH = 1000

interface EventIn { domainId: string, kind: 'presence' | 'messages', userid: number, webhookId: string, body: string, at: number }

export class Writer {
  private queue: Write[] = []
  private running: Promise<void> | null = null

  constructor (private readonly pool: pg.Pool, private readonly nodeId: string, private readonly now: () => number) {}

  appendMessage (m: NewMessage, eventFor: (row: MessageRow) => EventDraft): Promise<MessageRow> {
    return new Promise((resolve, reject) => this.push({ kind: 'message', m, eventFor, resolve, reject }))
  }

  changePresence (c: PresenceChange): Promise<void> {
    return new Promise((resolve, reject) => this.push({ kind: 'presence', c, resolve, reject }))
  }

  /** Settles when nothing is queued or being written. */
  async drain (): Promise<void> {
    while (this.running !== null) await this.running
  }

  private push (w: Write): void {
    this.queue.push(w)
    if (this.running === null) this.running = this.loop()
  }

  private async loop (): Promise<void> {
    // Let the rest of this tick's writes join the first batch.
    await new Promise((resolve) => setImmediate(resolve))
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_BATCH)
      await this.flush(batch)
    }
    this.running = null
  }

  private async flush (batch: Write[], retried = false): Promise<void> {
    try {
      const results = await this.write(batch)
      batch.forEach((w, i) => (w.resolve as (v: unknown) => void)(results[i]))
    } catch (err) {
      // A deadlock with another node's batch (PostgreSQL chose us to roll back): once more whole.
      if ((err as { code?: string }).code === '40P01' && !retried) return this.flush(batch, true)
      if (isUnavailable(err) || batch.length === 1) {
        const e = isUnavailable(err) ? unavailable(err) : err
        for (const w of batch) w.reject(e)
        return
      }
      // One bad write (a duplicate id, a value the database refuses) fails alone: the
      // others are written again, each in its own transaction.
      for (const w of batch) await this.flush([w])
    }
  }

  /** Writes a batch in one transaction; answers each write's result, in order. */
  private async write (batch: Write[]): Promise<Array<MessageRow | undefined>> {
    const client = await this.pool.connect()
    let broken = false
    try {
      await client.query('BEGIN')
      const users = [...new Set(batch.map((w) => w.kind === 'message' ? `${w.m.domainId}/${w.m.fromUserid}` : `${w.c.domainId}/${w.c.userid}`))].sort()
      // COLLATE "C": the same order as the completions' locks (migration 002), whatever the
      // database's collation.
      await client.query('SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0))) FROM (SELECT k FROM unnest($1::text[]) AS k ORDER BY k COLLATE "C") s', [users])

      const messages = batch.filter((w): w is Extract<Write, { kind: 'message' }> => w.kind === 'message')
      const rows = new Map<Write, MessageRow>()
      const events: EventIn[] = []
      if (messages.length > 0) {
        const ids = (await client.query<{ id: number }>("SELECT nextval('messages_id_seq') AS id FROM generate_series(1, $1::int)", [messages.length])).rows.map((r) => r.id).sort((a, b) => a - b)
        messages.forEach((w, i) => rows.set(w, { ...w.m, id: ids[i]! }))
        const col = <K extends keyof MessageRow>(k: K) => messages.map((w) => rows.get(w)![k])
        await client.query(`INSERT INTO messages (id, domain_id, from_userid, to_userid, type, message, p1, p2, p3, created_at, file_id)
          SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::int[], $6::text[], $7::text[], $8::text[], $9::text[], $10::bigint[], $11::text[])`,
        [col('id'), col('domainId'), col('fromUserid'), col('toUserid'), col('type'), col('message'), col('p1'), col('p2'), col('p3'), col('at'), messages.map((w) => w.m.fileId ?? null)])
        await conversationsAfter(client, [...rows.values()])
        // A file is attached by the first message that carries it (SPEC §8: the 24 h limit ends).
        const carrying = messages.filter((w) => w.m.fileId != null)
        if (carrying.length > 0) {
          await client.query(`UPDATE files f SET attached_at = x.t FROM unnest($1::text[], $2::text[], $3::bigint[]) AS x(d, i, t)
            WHERE f.domain_id = x.d AND f.id = x.i AND f.attached_at IS NULL`,
          [carrying.map((w) => w.m.domainId), carrying.map((w) => w.m.fileId), carrying.map((w) => w.m.at)])
        }
      }
      // The last change of each user in the batch is its row; every change is an event.
      const lastChange = new Map<string, PresenceChange>()
      for (const w of batch) {
        if (w.kind === 'message') {
          const row = rows.get(w)!
          const ev = w.eventFor(row)
          events.push({ domainId: row.domainId, kind: 'messages', userid: row.fromUserid, webhookId: ev.webhookId, body: ev.body, at: row.at })
        } else {
          lastChange.set(`${w.c.domainId}/${w.c.userid}`, w.c)
          events.push({ domainId: w.c.domainId, kind: 'presence', userid: w.c.userid, webhookId: w.c.event.webhookId, body: w.c.event.body, at: w.c.at })
        }
      }
      if (lastChange.size > 0) {
        const changes = [...lastChange.values()]
        await client.query(`INSERT INTO presence (domain_id, userid, status, changed_at, node_id)
          SELECT d, u, s, t, $5 FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[]) AS x(d, u, s, t)
          ON CONFLICT (domain_id, userid) DO UPDATE SET status = excluded.status, changed_at = excluded.changed_at, node_id = excluded.node_id`,
        [changes.map((c) => c.domainId), changes.map((c) => c.userid), changes.map((c) => c.status), changes.map((c) => c.at), this.nodeId])
      }
      await insertEvents(client, events, this.now())
      await client.query('COMMIT')
      return batch.map((w) => rows.get(w))
    } catch (err) {
      broken = isUnavailable(err)
      if (!broken) await client.query('ROLLBACK').catch(() => { broken = true })
      throw err
    } finally {
      client.release(broken)
    }
  }
}

/**
 * Inserts events (ids in array order) and opens their users' outbox queues, in one
 * statement. An event is pending when its callback is on, held otherwise. A queue that
 * exists keeps its head (the new event waits behind it), unless that head is no longer
 * pending and nobody holds the queue: then the new event is the head. A queue is ready from
 * its event's time, or from the database's `readyAt` if this node's clock runs ahead of it.
 */
export async function insertEvents (client: pg.ClientBase, events: EventIn[], readyAt: number): Promise<void> {
  if (events.length === 0) return
  await client.query(`WITH ins AS (
      INSERT INTO events (domain_id, kind, userid, webhook_id, body, created_at, state)
      SELECT x.d, x.k, x.u, x.w, x.b, x.t,
          CASE WHEN EXISTS (SELECT 1 FROM callbacks c WHERE c.domain_id = x.d AND c.kind = x.k AND c.enabled AND c.url IS NOT NULL)
            THEN 'pending' ELSE 'held' END
        FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::bigint[]) WITH ORDINALITY AS x(d, k, u, w, b, t, o)
        ORDER BY x.o
      RETURNING id, domain_id, kind, userid, state, created_at)
    INSERT INTO outbox_queues (domain_id, kind, userid, head_id, ready_at)
    SELECT domain_id, kind, userid, min(id), least(min(created_at), $7) FROM ins WHERE state = 'pending' GROUP BY domain_id, kind, userid
    ON CONFLICT (domain_id, kind, userid) DO UPDATE SET head_id = excluded.head_id, ready_at = excluded.ready_at, locked_by = NULL, locked_until = NULL
      WHERE (outbox_queues.locked_until IS NULL OR outbox_queues.locked_until < excluded.ready_at)
        AND (SELECT state FROM events WHERE id = outbox_queues.head_id) IS DISTINCT FROM 'pending'`,
  [events.map((e) => e.domainId), events.map((e) => e.kind), events.map((e) => e.userid), events.map((e) => e.webhookId), events.map((e) => e.body), events.map((e) => e.at), readyAt])
}
