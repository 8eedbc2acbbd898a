// Web push (SPEC §10.1) end to end: a real server, real MQTT users, and a push service of the
// test's own that decrypts each push with the subscription's keys, so the test reads what the
// browser would show.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { pushService } from './helpers/push-service.ts'
import { startServer, type TestServer } from './helpers/server.ts'
import { send, user } from './helpers/users.ts'
import { waitFor } from './helpers/wait.ts'

const PRIVATE = { MQCHAT_CALLBACK_ALLOW_PRIVATE: '1', MQCHAT_PUSH_RETRY_DELAYS: '100ms,100ms' }

async function subscribe (s: TestServer, d: { id: string }, userid: number, token: string, sub: { toJSON: () => unknown }): Promise<void> {
  const r = await s.api('POST', `/api/v1/domains/${d.id}/users/${userid}/push`, sub.toJSON(), token)
  assert.equal(r.status, 201, JSON.stringify(r.body))
}

async function tokenFor (s: TestServer, d: { id: string, apiKey: string }, userid: number, name?: string): Promise<string> {
  const r = await s.api('POST', `/api/v1/domains/${d.id}/users/${userid}/token`, name === undefined ? {} : { name }, d.apiKey)
  return r.body.token
}

test('a message to a user with no open connection is pushed to its browser: the sender\'s name, the text, the conversation, signed with the server\'s key', async (t) => {
  const ps = await pushService(t)
  const s = await startServer(t, {}, PRIVATE)
  const d = await s.domain()
  const key = await fetch(`${s.httpUrl}/api/v1/push/key`)
  assert.equal(key.status, 200)
  assert.equal(key.headers.get('access-control-allow-origin'), '*')
  const { publicKey } = await key.json() as { publicKey: string }
  assert.equal(Buffer.from(publicKey, 'base64url').length, 65)

  const visitor = await tokenFor(s, d, 3601)
  const browser = ps.subscription()
  await subscribe(s, d, 3601, visitor, browser)
  const ada = await user(s, d, 2, 'Ada Lovelace')
  const ack = await send(d, ada, 3601, 'Are you there? ✨')
  const [p] = await ps.count(1)
  assert.deepEqual(p!.payload, { title: 'Ada Lovelace', body: 'Are you there? ✨', domain: d.id, peer: 2, id: ack.event.message.id })
  assert.equal(p!.endpoint, browser.endpoint)
  assert.equal(p!.headers.ttl, '86400')
  assert.equal(p!.headers.urgency, 'high')
  assert.equal(p!.headers['content-encoding'], 'aes128gcm')
  assert.equal(p!.vapid.publicKey, publicKey)
  assert.equal(p!.vapid.aud, ps.base)
  assert.match(p!.vapid.sub, /^(mailto:|https:)/)
  assert.deepEqual(ps.broken, [])
})

test('no push while the recipient has a connection open; once it has none, the next message is pushed', async (t) => {
  const ps = await pushService(t)
  const s = await startServer(t, {}, PRIVATE)
  const d = await s.domain()
  const browser = ps.subscription()
  const bob = await user(s, d, 3, 'Bob')
  await subscribe(s, d, 3, bob.token, browser)
  const ada = await user(s, d, 2, 'Ada')
  await send(d, ada, 3, 'while you are here')
  await bob.inbox.next((m) => m.topic.endsWith('/inbox'), 'the message in Bob\'s inbox')
  await bob.client.endAsync()
  // Bob's last connection is closed (the server has counted it, within its grace time or not)
  await waitFor(() => !s.app.chat.presence.connectedHere(d.id, 3), 'Bob\'s connection counted closed')
  const second = await send(d, ada, 3, 'now that you are gone')
  await ps.count(1)
  assert.deepEqual(ps.pushed.map((p) => p.payload.id), [second.event.message.id], 'only the message stored while Bob had no connection')
})

test('a 404 or 410 removes the subscription; a 500 is retried; other subscriptions still get theirs', async (t) => {
  const ps = await pushService(t)
  const s = await startServer(t, {}, PRIVATE)
  const d = await s.domain()
  const token = await tokenFor(s, d, 5)
  const gone = ps.subscription()
  const notFound = ps.subscription()
  const flaky = ps.subscription()
  ps.status.set(gone.endpoint, [410])
  ps.status.set(notFound.endpoint, [404])
  ps.status.set(flaky.endpoint, [500, 201])
  for (const b of [gone, notFound, flaky]) await subscribe(s, d, 5, token, b)
  const ada = await user(s, d, 2, 'Ada')
  await send(d, ada, 5, 'hello')
  await ps.count(4)
  assert.equal(ps.to(gone.endpoint).length, 1)
  assert.equal(ps.to(notFound.endpoint).length, 1)
  assert.equal(ps.to(flaky.endpoint).length, 2, 'a 500, then again')
  await waitFor(async () => (await s.app.store.countPushes()) === 0, 'no push left to send')
  assert.deepEqual((await s.app.store.listPushSubscriptions(d.id, 5)).map((x) => x.endpoint), [flaky.endpoint])
  // the next message goes to the one left
  await send(d, ada, 5, 'again')
  await ps.count(5)
  assert.equal(ps.pushed.at(-1)!.endpoint, flaky.endpoint)
})

test('nothing is pushed for a blocked sender, nor from a non-friend in a friends-only domain', async (t) => {
  const ps = await pushService(t)
  const s = await startServer(t, {}, PRIVATE)
  const d = await s.domain()
  const token = await tokenFor(s, d, 7)
  await subscribe(s, d, 7, token, ps.subscription())
  assert.equal((await s.api('PUT', `/api/v1/domains/${d.id}/users/7/blocks/2`, undefined, token)).status, 204)
  const ada = await user(s, d, 2, 'Ada')
  const eve = await user(s, d, 3, 'Eve')
  const cid = await user(s, d, 4, 'Cid')
  assert.equal((await send(d, ada, 7, 'blocked')).error.code, 'blocked')
  assert.equal((await s.api('PATCH', `/api/v1/domains/${d.id}`, { contacts: 'friends' }, d.apiKey)).status, 200)
  assert.equal((await s.api('PUT', `/api/v1/domains/${d.id}/users/7/friends/4`, undefined, d.apiKey)).status, 204)
  assert.equal((await send(d, eve, 7, 'not a friend')).error.code, 'forbidden')
  const ok = await send(d, cid, 7, 'a friend')
  await ps.count(1)
  assert.deepEqual(ps.pushed.map((p) => [p.payload.title, p.payload.id]), [['Cid', ok.event.message.id]])
})

test('subscriptions: the user\'s own only, checked endpoints and keys, at most 10 (the oldest goes), removed with DELETE', async (t) => {
  const ps = await pushService(t)
  const s = await startServer(t, {}, PRIVATE)
  const d = await s.domain()
  const token = await tokenFor(s, d, 9)
  const other = await tokenFor(s, d, 10)
  const path = `/api/v1/domains/${d.id}/users/9/push`
  const good = ps.subscription().toJSON()
  assert.equal((await s.api('POST', path, good, other)).status, 403)
  assert.equal((await s.api('POST', path, good)).status, 201, 'the operator may')
  const refused = async (body: unknown, code: string, field?: string) => {
    const r = await s.api('POST', path, body, token)
    assert.equal(r.status, 400, JSON.stringify(r.body))
    assert.equal(r.body.error.code, code)
    if (field !== undefined) assert.match(r.body.error.message, new RegExp(field))
  }
  await refused({ ...good, endpoint: 'ftp://127.0.0.1/x' }, 'invalid_url', 'endpoint')
  await refused({ ...good, endpoint: 'http://push.example.com/x' }, 'invalid_url', 'endpoint')
  await refused({ ...good, keys: { ...good.keys, p256dh: Buffer.alloc(65, 4).toString('base64url') } }, 'invalid_request', 'p256dh')
  await refused({ ...good, keys: { ...good.keys, auth: 'c2hvcnQ' } }, 'invalid_request', 'auth')
  await refused({ endpoint: good.endpoint }, 'invalid_request', 'keys')
  await refused('{"endpoint":', 'invalid_json')
  const subs = Array.from({ length: 11 }, () => ps.subscription())
  for (const b of subs) await subscribe(s, d, 9, token, b)
  const kept = (await s.app.store.listPushSubscriptions(d.id, 9)).map((x) => x.endpoint)
  assert.equal(kept.length, 10)
  assert.ok(!kept.includes(good.endpoint) && !kept.includes(subs[0]!.endpoint), 'the two oldest went')
  assert.equal((await s.api('DELETE', path, { endpoint: subs[5]!.endpoint }, other)).status, 403)
  assert.equal((await s.api('DELETE', path, { endpoint: subs[5]!.endpoint }, token)).status, 204)
  assert.equal((await s.api('DELETE', path, { endpoint: subs[5]!.endpoint }, token)).status, 204, 'gone already: nothing to do')
  assert.equal((await s.app.store.listPushSubscriptions(d.id, 9)).length, 9)
})

test('without MQCHAT_CALLBACK_ALLOW_PRIVATE an endpoint must be https to a public address', async (t) => {
  const ps = await pushService(t)
  const s = await startServer(t)
  const d = await s.domain()
  const token = await tokenFor(s, d, 9)
  const good = ps.subscription().toJSON()
  const path = `/api/v1/domains/${d.id}/users/9/push`
  const loopback = await s.api('POST', path, good, token)
  assert.equal(loopback.status, 400)
  assert.equal(loopback.body.error.code, 'invalid_url')
  const privateHttps = await s.api('POST', path, { ...good, endpoint: 'https://10.1.2.3/push/x' }, token)
  assert.equal(privateHttps.status, 400)
  assert.equal(privateHttps.body.error.code, 'forbidden_target')
})

test('the VAPID key is generated once and kept: the same after a restart', async (t) => {
  const s = await startServer(t)
  const first = (await (await fetch(`${s.httpUrl}/api/v1/push/key`)).json() as { publicKey: string }).publicKey
  await s.stop()
  const again = await startServer(t, {}, { MQCHAT_DATA_DIR: s.dataDir })
  const second = (await (await fetch(`${again.httpUrl}/api/v1/push/key`)).json() as { publicKey: string }).publicKey
  assert.equal(second, first)
})

test('a push waiting for its retry is sent by the server started again, not lost', async (t) => {
  const ps = await pushService(t)
  const s = await startServer(t, {}, { MQCHAT_CALLBACK_ALLOW_PRIVATE: '1', MQCHAT_PUSH_RETRY_DELAYS: '1s,1s' })
  const d = await s.domain()
  const token = await tokenFor(s, d, 5)
  const browser = ps.subscription()
  ps.status.set(browser.endpoint, [503])
  await subscribe(s, d, 5, token, browser)
  const ada = await user(s, d, 2, 'Ada')
  const sent = await send(d, ada, 5, 'are you there?')
  await ps.count(1)
  // Stopped with the push waiting for its retry (a stop lets the attempt in flight be recorded).
  await s.stop()
  assert.equal(ps.pushed.length, 1)
  ps.status.set(browser.endpoint, [201])
  const again = await startServer(t, {}, { MQCHAT_CALLBACK_ALLOW_PRIVATE: '1', MQCHAT_PUSH_RETRY_DELAYS: '1s,1s', MQCHAT_DATA_DIR: s.dataDir })
  await ps.count(2)
  assert.deepEqual(ps.pushed.map((p) => p.payload.id), [sent.event.message.id, sent.event.message.id])
  await waitFor(async () => (await again.app.store.countPushes()) === 0, 'the push done')
})
