// The PostgreSQL store's hot statements keep their plans whatever the statistics say: an
// ANALYZE that ran while nearly every event was delivered (the usual state of a live
// database) must not turn a claim of 64 queues into 64 walks of the pending index.
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { test } from 'node:test'
import pg from 'pg'
import { createLogger } from '../src/log.ts'
import { PostgresStore } from '../src/store/postgres/index.ts'
import { freshDatabase } from './helpers/postgres.ts'

const USERS = 2000

test('a claim reads each queue head by its id after ANALYZE saw no pending event', async (t) => {
  const url = await freshDatabase()
  const store = new PostgresStore(url, 4, 'node-a', createLogger('silent'))
  await store.open()
  t.after(() => store.close())
  const now = store.now()
  await store.createDomain({ id: 'd1', name: 'd1', apiKeyHash: 'h', tokenSecret: 's', createdAt: now })
  await store.updateCallback('d1', 'messages', { url: 'http://127.0.0.1:9/hook', enabled: false }, () => 'whsec_test')
  // A backlog written while the callback was off (held), one event per user.
  const writes = []
  for (let u = 1; u <= USERS; u++) {
    writes.push(store.appendMessage({ domainId: 'd1', fromUserid: u, toUserid: USERS + 1, type: 1, message: 'hi', p1: '', p2: '', p3: '', at: now },
      () => ({ webhookId: `msg_${randomUUID()}`, body: '{}' })))
  }
  await Promise.all(writes)
  const c = new pg.Client({ connectionString: url })
  await c.connect()
  t.after(() => c.end())
  await c.query('ANALYZE')
  // Switched on and replayed: every user's queue is ready.
  await store.updateCallback('d1', 'messages', { enabled: true }, () => 'whsec_test')
  assert.equal(await store.replay('d1', 'messages', 0, store.now()), USERS)

  // The claim's own plan, as auto_explain prints it for the statements inside the function.
  const plans: string[] = []
  c.on('notice', (n) => { plans.push(n.message ?? '') })
  await c.query("LOAD 'auto_explain'")
  await c.query('SET auto_explain.log_min_duration = 0; SET auto_explain.log_nested_statements = on; SET auto_explain.log_level = notice; SET client_min_messages = notice')
  await c.query('BEGIN')
  const claimed = await c.query('SELECT * FROM mqchat_claim($1, $2, $3, $4, $5)', ['d1', store.now(), 'node-b', store.now() + 60_000, 64])
  await c.query('ROLLBACK')
  assert.equal(claimed.rowCount, 64)
  const claimPlan = plans.find((p) => p.includes('LockRows'))
  assert.ok(claimPlan !== undefined, 'auto_explain printed the claim')
  assert.doesNotMatch(claimPlan, /events_pending_user/, claimPlan)
  assert.match(claimPlan, /events_pkey/)
})
