// Ids that readers can page after (issue 20): with several nodes on one PostgreSQL, a write
// that took a lower id must never commit after one that took a higher id in the same domain,
// or a reader that pages "after the last id I saw" (the event feed, SPEC §4.6; the client's
// catch-up, history `after`; the widget's unread rule, which trusts a conversation's count as
// of its last id) skips the late one for good. Here "another node" is this test's own
// connection, holding its transaction open after mqchat_write_batch (the real writer's call)
// or mqchat_presence_connect took their ids, while the server writes in the same domain.
// (The embedded SQLite store has one writer, one transaction at a time: its ids commit in
// order already, and there is no second writer to stage. The readers are the same code on
// both stores, paged on both in test/callback-api.test.ts and test/api.test.ts.)
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { test, type TestContext } from 'node:test'
import pg from 'pg'
import { messageEvent, presenceEvent } from '../src/chat/events.ts'
import { newWebhookId } from '../src/chat/ids.ts'
import { Writer } from '../src/store/postgres/writer.ts'
import type { MessageRow } from '../src/store/types.ts'
import { unreadCounts } from '../widget/unread.ts'
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
  return { s, d, other, probe, url }
}

/**
 * Resolves once `write` has finished, or is waiting for a lock another transaction holds
 * (then it finishes only after that one ends): whichever comes first.
 */
async function finishedOrWaiting (probe: pg.Client, finished: () => boolean | Promise<boolean>): Promise<'finished' | 'waiting'> {
  return await waitFor(async () => {
    if (await finished()) return 'finished' as const
    return await lockWaiters(probe) > 0 ? 'waiting' as const : null
  }, 'the server\'s write to finish or to wait for the other transaction')
}

/** Backends of this database waiting for a lock another transaction holds. */
const lockWaiters = async (probe: pg.Client): Promise<number> =>
  (await probe.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")).rows[0].n

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

test('within one conversation too: the widget\'s unread count, which trusts a conversation\'s answer as of its last id, counts a message that commits late', async (t) => {
  const { s, d, other, probe, url } = await setUp(t)
  const elsewhere = await s.domain()
  const third = await client(t, url)
  // Another node's batch: first a message of another domain, then user 1 to user 3 here. Both
  // ids are taken, then the first row waits (this test holds that domain's row), so the
  // second has its id but has not reached its conversation yet.
  await third.query('BEGIN')
  await third.query('SELECT 1 FROM domains WHERE id = $1 FOR UPDATE', [elsewhere.id])
  await other.query('BEGIN')
  const writer = new Writer({ query: (q: pg.QueryConfig) => other.query(q) } as unknown as pg.Pool, randomUUID(), () => Date.now())
  const eventFor = (row: MessageRow) => ({ webhookId: newWebhookId(row.at), body: JSON.stringify(messageEvent(row)) })
  const m = (domainId: string, fromUserid: number, toUserid: number) => ({ domainId, fromUserid, toUserid, type: 0, message: 'late', p1: '', p2: '', p3: '', at: Date.now() })
  const first = writer.appendMessage(m(elsewhere.id, 1, 2), eventFor)
  const lateWrite = writer.appendMessage(m(d.id, 1, 3), eventFor)
  void first.catch(() => {})
  void lateWrite.catch(() => {})
  await waitFor(async () => await lockWaiters(probe) === 1, 'the other node\'s batch waiting')

  // Meanwhile this node: user 3 answers user 1 (the same conversation).
  let answered = false
  const posted = s.api('POST', `/api/v1/domains/${d.id}/messages`, { from_userid: 3, to_userid: 1, message: 'taken second', type: 0 }, d.apiKey)
  void posted.finally(() => { answered = true })
  await waitFor(async () => answered || await lockWaiters(probe) === 2, 'the server\'s write to finish or wait')

  // The widget asks for user 3's conversations now, and keeps each one's count as of its last id.
  const unread = unreadCounts()
  const ticket = unread.ask()
  for (const c of (await s.api('GET', `/api/v1/domains/${d.id}/users/3/conversations`, undefined, d.apiKey)).body.conversations) {
    unread.answer(ticket, c.peer.userid, c.unread, c.last?.message.id ?? 0)
  }

  await third.query('COMMIT')
  const late = await lateWrite
  await other.query('COMMIT')
  const answer = await posted
  assert.equal(answer.status, 201, JSON.stringify(answer.body))
  assert.ok(late.id < answer.body.message.id, 'the late message\'s id was taken first')
  // Then the late message comes live: user 1's message, unread.
  unread.live(1, late.id)
  assert.equal(unread.of(1), 1, 'user 1\'s message counts as unread')
  const now = (await s.api('GET', `/api/v1/domains/${d.id}/users/3/conversations`, undefined, d.apiKey)).body.conversations
  assert.deepEqual(now.map((c: any) => [c.peer.userid, c.unread, c.last.message.id]), [[1, 1, answer.body.message.id]])
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
