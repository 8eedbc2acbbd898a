// Moving from the embedded database to PostgreSQL (SPEC §6): the command, as an operator runs
// it, on a data dir a real server wrote, and a server on PostgreSQL that carries on from it.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createECDH, randomBytes } from 'node:crypto'
import Database from 'better-sqlite3'
import path from 'node:path'
import { test } from 'node:test'
import { callbackApi, FAST_ENV } from './helpers/callbacks.ts'
import { freshDatabase } from './helpers/postgres.ts'
import { answer, receiver } from './helpers/receiver.ts'
import { startServer, type TestServer } from './helpers/server.ts'
import { waitFor } from './helpers/wait.ts'

const ROOT = path.resolve(import.meta.dirname, '..')

/** Runs the move command as a process of its own; answers its exit code and output. */
async function move (from: string, to: string): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/move-to-postgres.ts', '--from', from, '--to', to], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (b) => { stdout += b })
  child.stderr.on('data', (b) => { stderr += b })
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)))
  return { code, stdout, stderr }
}

/** The "  <table>  <n> rows" lines of the command's output. */
const copied = (stdout: string): Record<string, number> =>
  Object.fromEntries([...stdout.matchAll(/^ {2}(\w+) +(\d+) rows$/gm)].map((m) => [m[1]!, Number(m[2])]))

test('the move carries an embedded data dir to PostgreSQL: ids, history, logs, and pending callbacks resume with their webhook-ids', async (t) => {
  const rx = await receiver(t)
  // Long enough that the failing events are still pending (not given up) when the server stops.
  const env = { ...FAST_ENV, MQCHAT_CALLBACK_RETRY_DELAYS: Array(20).fill('500ms').join(',') }

  // ---- an embedded server with history, delivered callbacks and pending ones ----
  const old = await startServer(t, {}, env)
  const d = await old.domain()
  const cb = callbackApi(old, d)
  assert.equal((await cb.put({ url: rx.url, enabled: true })).status, 200)
  await old.token(d, 1) // user 1 exists (has a presence row)
  // its people: domain settings (friends only), a profile, a block (1 blocks 3), a friendship (1 and 2)
  assert.equal((await old.api('PATCH', `/api/v1/domains/${d.id}`, { retentionDays: 30, allowedOrigins: ['https://www.acme.test'], contacts: 'friends' }, d.apiKey)).status, 200)
  assert.equal((await old.api('PUT', `/api/v1/domains/${d.id}/users/1/friends/2`, undefined, d.apiKey)).status, 204)
  assert.equal((await old.api('PUT', `/api/v1/domains/${d.id}/users/1`, { name: 'Ada', avatar: 'https://img.test/ada.png' }, d.apiKey)).status, 200)
  assert.equal((await old.api('PUT', `/api/v1/domains/${d.id}/users/1/blocks/3`, undefined, d.apiKey)).status, 204)
  // web push: the server's key, and a browser's subscription (user 7)
  const pushKey = async (s: TestServer): Promise<string> => ((await (await fetch(`${s.httpUrl}/api/v1/push/key`)).json()) as { publicKey: string }).publicKey
  const oldKey = await pushKey(old)
  const ecdh = createECDH('prime256v1')
  ecdh.generateKeys()
  const subscription = { endpoint: 'https://93.184.215.14/push/moved', keys: { p256dh: ecdh.getPublicKey('base64url'), auth: randomBytes(16).toString('base64url') } }
  assert.equal((await old.api('POST', `/api/v1/domains/${d.id}/users/7/push`, subscription, d.apiKey)).status, 201)
  const one = await cb.send(1, 'one', 2)
  const two = await cb.send(2, 'two', 1)
  await waitFor(async () => (await cb.events()).items.every((e) => e.delivered), 'the first two delivered')
  rx.respond = answer(500, 'down for maintenance')
  const three = await cb.send(1, 'three', 2)
  const four = await cb.send(1, 'four', 2)
  const five = await cb.send(2, 'five', 1)
  // Each user's head has failed at least once: the callback is mid-retry.
  await waitFor(async () => (await cb.logs('?result=failed')).length >= 2, 'failed attempts logged')

  const history = (await old.api('GET', `/api/v1/domains/${d.id}/messages?limit=50`, undefined, d.apiKey)).body.messages
  const feed = (await cb.events('?limit=100')).items
  const logs = await cb.logs('?limit=500')
  assert.equal(history.length, 5)
  assert.equal(feed.length, 5)
  assert.ok((await cb.get()).pending >= 3, 'three events pending at the stop')
  const webhookIdOf = (text: string): string => feed.find((e) => e.body.message.message === text)!.webhookId
  await old.stop()
  // A stop takes every user offline; a crash leaves them as they were. As a crash would:
  const crashed = new Database(path.join(old.dataDir, 'mqchat.sqlite'))
  assert.equal(crashed.prepare("UPDATE presence SET status = 'online', node_id = 'the-old-server' WHERE domain_id = ? AND userid = 1").run(d.id).changes, 1)
  crashed.close()
  const mark = rx.requests.length
  rx.respond = answer(200, 'ok')

  // ---- the move ----
  const url = await freshDatabase()
  const moved = await move(old.dataDir, url)
  assert.equal(moved.code, 0, moved.stderr)
  assert.match(moved.stdout, /^moved .*mqchat\.sqlite into postgres:\/\//)
  const counts = copied(moved.stdout)
  assert.deepEqual(Object.keys(counts), ['domains', 'presence', 'messages', 'events', 'callbacks', 'outbox_queues', 'callback_logs',
    'profiles', 'conversations', 'blocks', 'friends', 'erased_users', 'files', 'server_settings', 'push_subscriptions', 'push_jobs'])
  assert.deepEqual([counts.server_settings, counts.push_subscriptions], [1, 1])
  assert.deepEqual([counts.profiles, counts.conversations, counts.blocks, counts.friends, counts.erased_users], [1, 2, 1, 2, 0])
  assert.equal(counts.domains, 1)
  assert.equal(counts.presence, 1)
  assert.equal(counts.messages, 5)
  assert.equal(counts.events, 5)
  assert.equal(counts.outbox_queues, 2, 'one queue per user with pending events')
  assert.ok(counts.callback_logs! >= logs.length)
  assert.match(moved.stdout, /new ids continue above the old: messages > 5, events > 5, callback_logs > \d+/)
  // The old server took its operator key from MQCHAT_ADMIN_KEY: the new one needs the same.
  assert.match(moved.stdout, /MQCHAT_ADMIN_KEY/)

  // ---- a server on PostgreSQL, with the same operator key (startServer's) and a new data dir ----
  const pgs = await startServer(t, {}, { ...env, MQCHAT_DATABASE_URL: url })
  assert.notEqual(pgs.dataDir, old.dataDir)
  assert.equal(pgs.operatorKey, old.operatorKey)
  assert.equal(await pushKey(pgs), oldKey, 'the browsers\' subscriptions were made for this key')
  assert.deepEqual((await pgs.app.store.listPushSubscriptions(d.id, 7)).map((x) => [x.endpoint, x.p256dh]), [[subscription.endpoint, subscription.keys.p256dh]])
  const listed = await pgs.api('GET', '/api/v1/domains')
  assert.deepEqual(listed.body.domains.map((x: { id: string }) => x.id), [d.id])
  const mine = await pgs.api('GET', `/api/v1/domains/${d.id}`, undefined, d.apiKey)
  assert.equal(mine.status, 200, 'the domain key still works')
  const cb2 = callbackApi(pgs, d)

  // The pending events go out now, each user's in order, with their original webhook-ids;
  // the ones delivered before the move are not sent again.
  await waitFor(async () => (await cb2.events('?limit=100')).items.every((e) => e.delivered), 'the pending events delivered', 10_000)
  const after = rx.requests.slice(mark)
  const ids = after.map((r) => r.headers['webhook-id'])
  for (const text of ['three', 'four', 'five']) assert.ok(ids.includes(webhookIdOf(text)), `${text} delivered with its webhook-id`)
  assert.ok(ids.indexOf(webhookIdOf('three')) < ids.indexOf(webhookIdOf('four')), 'user 1 in order')
  for (const text of ['one', 'two']) assert.ok(!ids.includes(webhookIdOf(text)), `${text} not sent again`)
  assert.deepEqual(after.map((r) => r.json?.message?.id), ids.map((id) => feed.find((e) => e.webhookId === id)!.body.message.id), 'the bodies are the events\' own')

  // History, the feed and the logs are those of the old server.
  const history2 = (await pgs.api('GET', `/api/v1/domains/${d.id}/messages?limit=50`, undefined, d.apiKey)).body.messages
  assert.deepEqual(history2, history)
  assert.deepEqual(history.map((m: any) => m.message.id).sort(), [one, two, three, four, five].map((m) => m.message.id).sort())
  const feed2 = (await cb2.events('?limit=100')).items
  assert.deepEqual(feed2.map((e) => [e.id, e.webhookId, e.at, e.body]), feed.map((e) => [e.id, e.webhookId, e.at, e.body]))
  const logs2 = await cb2.logs('?limit=500')
  for (const l of logs) assert.deepEqual(logs2.find((x) => x.id === l.id), l, `log ${l.id} moved as it was`)
  const lastOldLog = Math.max(...logs.map((l) => l.id))
  assert.ok(logs2.filter((l) => l.result === 'ok' && l.id > lastOldLog).length >= 3, 'the new attempts are logged after the old')

  // Settings, profiles, conversations, blocks and friends came along.
  const settings = (await pgs.api('GET', `/api/v1/domains/${d.id}`, undefined, d.apiKey)).body
  assert.deepEqual([settings.retentionDays, settings.allowedOrigins, settings.contacts], [30, ['https://www.acme.test'], 'friends'])
  const friends = (await pgs.api('GET', `/api/v1/domains/${d.id}/users/2/friends`, undefined, d.apiKey)).body.friends
  assert.deepEqual(friends.map((f: any) => [f.userid, f.name]), [[1, 'Ada']])
  const stranger = await pgs.api('POST', `/api/v1/domains/${d.id}/messages`, { from_userid: 2, to_userid: 4, message: 'x', type: 0 }, d.apiKey)
  assert.equal(stranger.body.error?.code, 'forbidden')
  const [conv] = (await pgs.api('GET', `/api/v1/domains/${d.id}/users/2/conversations`, undefined, d.apiKey)).body.conversations
  assert.deepEqual([conv.peer.userid, conv.peer.name, conv.peer.avatar, conv.unread], [1, 'Ada', 'https://img.test/ada.png', 3])
  const blocked = await pgs.api('POST', `/api/v1/domains/${d.id}/messages`, { from_userid: 3, to_userid: 1, message: 'x', type: 0 }, d.apiKey)
  assert.equal(blocked.body.error?.code, 'blocked')

  // The user the old server left online is an orphan: the new server takes it offline, with its event.
  await waitFor(async () => {
    const users = (await pgs.api('GET', `/api/v1/domains/${d.id}/presence`, undefined, d.apiKey)).body.users
    return users.length === 1 && users[0].userid === 1 && users[0].status === 'offline'
  }, 'user 1 offline')
  const presence = (await callbackApi(pgs, d, 'presence').events()).items
  assert.deepEqual(presence.map((e) => [e.body.userid, e.body.status]), [[1, 'offline']])

  // New ids continue above the old ones.
  const six = await cb2.send(1, 'six', 2)
  assert.ok(six.message.id > Math.max(...history.map((m: any) => m.message.id)), `new message id ${six.message.id} above the old`)
  const feed3 = (await cb2.events('?limit=100')).items
  assert.ok(feed3.at(-1)!.id > Math.max(...feed.map((e) => e.id)))

  // ---- a second move into the same (now non-empty) database is refused ----
  const again = await move(old.dataDir, url)
  assert.equal(again.code, 1)
  assert.equal(again.stdout, '')
  assert.match(again.stderr, /^move-to-postgres: .* is not empty \(it has 1 domain\)/)
  assert.equal(again.stderr.trim().split('\n').length, 1, 'one line')
})

test('the move refuses a directory that holds no mqchat.sqlite', async (t) => {
  const s = await startServer(t)
  await s.stop()
  const url = await freshDatabase()
  const r = await move(path.join(s.dataDir, 'nothing-here'), url)
  assert.equal(r.code, 1)
  assert.match(r.stderr, /^move-to-postgres: .*nothing-here has no mqchat\.sqlite/)
  assert.equal(r.stderr.trim().split('\n').length, 1)
})
