// Ids that readers can page after (issue 20): with several nodes on one PostgreSQL, a write
// that took a lower id must never commit after one that took a higher id in the same domain,
// or a reader that pages "after the last id I saw" (the event feed, SPEC §4.6; the client's
// catch-up, history `after`; the widget's unread rule, which trusts a conversation's count as
// of its last id) skips the late one for good. Here "another node" is this test's own
// connection, holding its transaction open after mqchat_write_batch (the real writer's call)
// or mqchat_presence_connect took their ids, while the server writes in the same domain.
// (The embedded SQLite store has one writer, one transaction at a time: its ids commit in
// order already; test/messages.test.ts and the conformance suite cover it.)
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { test, type TestContext } from 'node:test'
import pg from 'pg'
import { messageEvent, presenceEvent } from '../src/chat/events.ts'
import { newWebhookId } from '../src/chat/ids.ts'
import { Writer } from '../src/store/postgres/writer.ts'
import type { MessageRow } from '../src/store/types.ts'
import { freshDatabase } from './helpers/postgres.ts'
import { startServer } from './helpers/server.ts'
import { waitFor } from './helpers/wait.ts'

async function client (t: TestContext, url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url })
  await c.connect()
  t.after(() => c.end().catch(() => {}))
  return c
}

/** The server on a fresh database, the test's two connections to it, and a domain. */
async function setUp (t: TestContext) {
  const url = await freshDatabase()
  const s = await startServer(t, {}, { MQCHAT_DATABASE_URL: url })
  const d = await s.domain()
  const other = await client(t, url)
  const probe = await client(t, url)
  return { s, d, other, probe }
}

/**
 * Resolves once `write` has finished, or is waiting for a lock another transaction holds
 * (then it finishes only after that one ends): whichever comes first.
 */
async function finishedOrWaiting (probe: pg.Client, finished: () => boolean | Promise<boolean>): Promise<'finished' | 'waiting'> {
  return await waitFor(async () => {
    if (await finished()) return 'finished' as const
    const r = await probe.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")
    return r.rows[0].n > 0 ? 'waiting' as const : null
  }, 'the server\'s write to finish or to wait for the other transaction')
}

/** Pages `fetch(after)` to the end, as a customer's job or a client does; answers the ids in order. */
async function pageAll (fetch: (after: number) => Promise<number[]>, after: number): Promise<number[]> {
  const seen: number[] = []
  for (;;) {
    const ids = await fetch(after)
    if (ids.length === 0) return seen
    seen.push(...ids)
    after = ids.at(-1)!
  }
}

test('a message whose id was taken first but commits later on another node is not skipped by the event feed or history after', async (t) => {
  const { s, d, other, probe } = await setUp(t)
  const feed = async (after: number) => (await s.api('GET', `/api/v1/domains/${d.id}/callbacks/messages/events?after=${after}&limit=100`, undefined, d.apiKey)).body.items.map((e: { id: number }) => e.id) as number[]
  const history = async (after: number) => (await s.api('GET', `/api/v1/domains/${d.id}/messages?userid=3&after=${after}&limit=100`, undefined, d.apiKey)).body.messages.map((m: { message: { id: number } }) => m.message.id) as number[]

  // Another node's writer: user 1 to user 3, its id taken, its transaction still open.
  await other.query('BEGIN')
  const writer = new Writer({ query: (q: pg.QueryConfig) => other.query(q) } as unknown as pg.Pool, randomUUID(), () => Date.now())
  const eventFor = (row: MessageRow) => ({ webhookId: newWebhookId(row.at), body: JSON.stringify(messageEvent(row)) })
  const late = await writer.appendMessage({ domainId: d.id, fromUserid: 1, toUserid: 3, type: 0, message: 'taken first, committed last', p1: '', p2: '', p3: '', at: Date.now() }, eventFor)

  // Meanwhile this node: user 2 to user 3, through the API (another conversation: no row in common).
  let answered = false
  const posted = s.api('POST', `/api/v1/domains/${d.id}/messages`, { from_userid: 2, to_userid: 3, message: 'taken second', type: 0 }, d.apiKey)
  void posted.finally(() => { answered = true })
  await finishedOrWaiting(probe, () => answered)

  // Readers, while the first is not committed: what they see now, and the cursor they keep.
  const feedNow = await feed(0)
  const historyNow = await history(0)

  await other.query('COMMIT')
  const answer = await posted
  assert.equal(answer.status, 201, JSON.stringify(answer.body))
  const early = answer.body.message.id as number
  assert.ok(late.id < early, `the other node's id ${late.id} was taken before this node's ${early}`)

  // Each reader pages on from where it was: every message is there, each once, in id order.
  const feedAll = [...feedNow, ...await pageAll(feed, feedNow.at(-1) ?? 0)]
  assert.equal(feedAll.length, 2, `the event feed gave ${JSON.stringify(feedAll)} (${JSON.stringify(feedNow)} while the other was open)`)
  assert.deepEqual([...feedAll].sort((a, b) => a - b), feedAll, 'oldest first')
  const historyAll = [...historyNow, ...await pageAll(history, historyNow.at(-1) ?? 0)]
  assert.deepEqual(historyAll, [late.id, early], `history after gave ${JSON.stringify(historyAll)} (${JSON.stringify(historyNow)} while the other was open)`)
})

test('a presence change whose event id was taken first but commits later on another node is not skipped by the presence feed', async (t) => {
  const { s, d, other, probe } = await setUp(t)
  const feed = async (after: number) => (await s.api('GET', `/api/v1/domains/${d.id}/callbacks/presence/events?after=${after}&limit=100`, undefined, d.apiKey)).body.items.map((e: { id: number, body: unknown }) => e) as Array<{ id: number, body: unknown }>
  await s.token(d, 51)

  // Another node: user 50 comes online there, its event written, its transaction open.
  await other.query('BEGIN')
  const at = Date.now()
  await other.query('SELECT mqchat_presence_connect($1, $2, $3, $4, $5, $6, $7)',
    [d.id, 50, randomUUID(), at, newWebhookId(at), JSON.stringify(presenceEvent(50, 'online', at)), at])

  // Meanwhile user 51 connects to this node: its online event is written after the CONNACK.
  await s.connect(d, 51)
  await finishedOrWaiting(probe, async () => (await probe.query('SELECT 1 FROM events WHERE domain_id = $1 AND userid = 51', [d.id])).rowCount === 1)
  const now = await feed(0)

  await other.query('COMMIT')
  await waitFor(async () => (await s.app.store.listEvents(d.id, 'presence', 0, 10)).length === 2, 'both online events')
  const ids = (f: Array<{ id: number }>) => f.map((e) => e.id)
  const all = [...now, ...await pageAllEvents(feed, now.at(-1)?.id ?? 0)]
  assert.deepEqual(all.map((e) => (typeof e.body === 'string' ? JSON.parse(e.body) : e.body).userid).sort(), [50, 51], `the presence feed gave ${JSON.stringify(all)}`)
  assert.deepEqual(ids(all), [...ids(all)].sort((a, b) => a - b), 'oldest first')
})

async function pageAllEvents (fetch: (after: number) => Promise<Array<{ id: number, body: unknown }>>, after: number) {
  const seen: Array<{ id: number, body: unknown }> = []
  for (;;) {
    const items = await fetch(after)
    if (items.length === 0) return seen
    seen.push(...items)
    after = items.at(-1)!.id
  }
}
