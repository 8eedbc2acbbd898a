// Group commit for PostgreSQL: the messages and presence changes queued while one batch is
// being written go together in the next, one call of a plpgsql function whatever its size
// (migration 010: it takes the rows as arrays), so a commit's round trip and WAL flush are
// paid per batch, not per message. One batch at a time: call order is commit order.
//
// Each user whose events a batch writes is locked first (a transaction-scoped advisory
// lock, taken in one sorted order so that two nodes' batches cannot deadlock), and only then
// are ids taken: two nodes writing for one user commit in id order, so the user's outbox
// queue never sees a later event before an earlier one (the order SPEC §4.4 promises).
import type pg from 'pg'
import type { EventDraft, MessageRow, NewMessage, PresenceChange } from '../types.ts'
import { AppError, blockedError, notFriendError } from '../../errors.ts'
import { isUnavailable, unavailable } from './errors.ts'
import { userLockKey } from './people.ts'

type Write =
  | { kind: 'message', m: NewMessage, eventFor: (row: MessageRow) => EventDraft, resolve: (r: MessageRow) => void, reject: (e: unknown) => void }
  | { kind: 'presence', c: PresenceChange, resolve: (r: undefined) => void, reject: (e: unknown) => void }

/** A batch is cut at this size, so a huge burst does not make one long transaction. */
const MAX_BATCH = 1000

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
      batch.forEach((w, i) => {
        const r = results[i]
        if (r instanceof AppError) w.reject(r)
        else (w.resolve as (v: unknown) => void)(r)
      })
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

  /**
   * Writes a batch in one call of `mqchat_write_batch` (migration 010): one round trip and
   * one transaction whatever the batch holds. Answers each write's result, in order; a
   * message to a user who blocked its sender answers the `blocked` error instead, one to a
   * non-friend in a domain whose contacts are friends the `forbidden` error.
   */
  private async write (batch: Write[]): Promise<Array<MessageRow | undefined | AppError>> {
    const locks = new Set<string>()
    const m = { domain: [] as string[], from: [] as number[], to: [] as number[], type: [] as number[], message: [] as string[], p1: [] as string[], p2: [] as string[], p3: [] as string[], at: [] as number[], file: [] as Array<string | null> }
    const l = { domain: [] as string[], userid: [] as number[], status: [] as string[], at: [] as number[] }
    const e = { domain: [] as string[], kind: [] as string[], userid: [] as number[], webhook: [] as string[], pre: [] as string[], post: [] as Array<string | null>, at: [] as number[], msg: [] as Array<number | null> }
    const lastChange = new Map<string, PresenceChange>()
    for (const w of batch) {
      if (w.kind === 'message') {
        const x = w.m
        locks.add(userLockKey(x.domainId, x.fromUserid))
        m.domain.push(x.domainId); m.from.push(x.fromUserid); m.to.push(x.toUserid); m.type.push(x.type); m.message.push(x.message)
        m.p1.push(x.p1); m.p2.push(x.p2); m.p3.push(x.p3); m.at.push(x.at); m.file.push(x.fileId ?? null)
        const ev = w.eventFor({ ...x, id: ID_PLACEHOLDER })
        const [pre, post] = splitAtId(ev.body, () => w.eventFor({ ...x, id: 0 }).body)
        e.domain.push(x.domainId); e.kind.push('messages'); e.userid.push(x.fromUserid); e.webhook.push(ev.webhookId); e.pre.push(pre); e.post.push(post); e.at.push(x.at); e.msg.push(m.domain.length)
      } else {
        const c = w.c
        locks.add(userLockKey(c.domainId, c.userid))
        lastChange.set(`${c.domainId}/${c.userid}`, c)
        e.domain.push(c.domainId); e.kind.push('presence'); e.userid.push(c.userid); e.webhook.push(c.event.webhookId); e.pre.push(c.event.body); e.post.push(null); e.at.push(c.at); e.msg.push(null)
      }
    }
    for (const c of lastChange.values()) { l.domain.push(c.domainId); l.userid.push(c.userid); l.status.push(c.status); l.at.push(c.at) }
    const res = await this.pool.query<{ ids: string[] | null }>({
      name: 'mqchat_write_batch',
      text: WRITE_BATCH,
      values: [[...locks], m.domain, m.from, m.to, m.type, m.message, m.p1, m.p2, m.p3, m.at, m.file,
        l.domain, l.userid, l.status, l.at, this.nodeId,
        e.domain, e.kind, e.userid, e.webhook, e.pre, e.post, e.at, e.msg, this.now()]
    })
    const ids = res.rows[0]!.ids ?? []
    let i = 0
    return batch.map((w) => {
      if (w.kind !== 'message') return undefined
      // a refusal answers its reason negated (-1 blocked, -2 not a friend)
      const id = Number(ids[i++])
      if (id === -1) return blockedError(w.m.toUserid)
      if (id === -2) return notFriendError(w.m.toUserid)
      return { ...w.m, id }
    })
  }
}

const WRITE_BATCH = `SELECT mqchat_write_batch($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::int[], $6::text[], $7::text[], $8::text[], $9::text[], $10::bigint[], $11::text[],
  $12::text[], $13::bigint[], $14::text[], $15::bigint[], $16::text, $17::text[], $18::text[], $19::bigint[], $20::text[], $21::text[], $22::text[], $23::bigint[], $24::int[], $25::bigint) AS ids`

/**
 * A message's event body is built before its id exists (the database takes the id in the
 * same call): it is built with this id and cut around it, so that the database writes the
 * body with the real id in its place. A body that does not carry its id (as `"id":<id>,`)
 * must then be the same whatever the id (`other` builds it with another), and is kept whole.
 */
const ID_PLACEHOLDER = Number.MAX_SAFE_INTEGER
const ID_TOKEN = `"id":${ID_PLACEHOLDER},`

export function splitAtId (body: string, other: () => string): [string, string | null] {
  const at = body.indexOf(ID_TOKEN)
  if (at >= 0) return [body.slice(0, at + 5), body.slice(at + 5 + String(ID_PLACEHOLDER).length)]
  if (other() === body) return [body, null]
  throw new Error('a message event body that depends on its id carries it as "id":<id>,')
}
