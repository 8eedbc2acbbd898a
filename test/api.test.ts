import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Inbox, startServer } from './helpers/server.ts'

test('the operator creates and lists domains; a domain sees itself without secrets', async (t) => {
  const s = await startServer(t)
  const created = await s.api('POST', '/api/v1/domains', { id: 'acme', name: 'Acme Ltd' })
  assert.equal(created.status, 201)
  assert.deepEqual(Object.keys(created.body).sort(), ['apiKey', 'id', 'name', 'tokenSecret'])
  assert.match(created.body.apiKey, /^mqk_/)
  const again = await s.api('POST', '/api/v1/domains', { id: 'acme', name: 'Again' })
  assert.equal(again.status, 409)
  assert.equal(again.body.error.code, 'domain_exists')
  for (const id of ['Acme', '-x', 'a_b', '', 'x'.repeat(64)]) {
    const r = await s.api('POST', '/api/v1/domains', { id, name: 'n' })
    assert.equal(r.status, 400, id)
    assert.equal(r.body.error.code, 'invalid_request')
    assert.match(r.body.error.message, /id/)
  }
  const list = await s.api('GET', '/api/v1/domains')
  assert.deepEqual(list.body.domains.map((d: { id: string }) => d.id), ['acme'])
  assert.deepEqual((await s.api('GET', '/api/v1/me')).body, { kind: 'operator' })
  const me = await s.api('GET', '/api/v1/me', undefined, created.body.apiKey)
  assert.equal(me.body.kind, 'domain')
  assert.equal(me.body.domain.id, 'acme')
  const self = await s.api('GET', '/api/v1/domains/acme', undefined, created.body.apiKey)
  assert.equal(self.status, 200)
  assert.deepEqual(Object.keys(self.body).sort(), ['allowedOrigins', 'contacts', 'createdAt', 'id', 'name', 'retentionDays'])
  assert.ok(Math.abs(self.body.createdAt - Date.now() / 1000) < 5)
})

test('a token from the API has the lifetime asked for, and its user then exists', async (t) => {
  const s = await startServer(t)
  const d = await s.domain()
  // No body at all, and an empty JSON body, both mean the default lifetime.
  for (const body of [undefined, '']) {
    const r = await s.api('POST', `/api/v1/domains/${d.id}/users/42/token`, body, d.apiKey)
    assert.equal(r.status, 200)
    assert.ok(Math.abs(r.body.expiresAt - (Date.now() / 1000 + 3600)) < 5)
  }
  const short = await s.api('POST', `/api/v1/domains/${d.id}/users/42/token`, { ttlSeconds: 60 }, d.apiKey)
  assert.ok(Math.abs(short.body.expiresAt - (Date.now() / 1000 + 60)) < 5)
  const bad = await s.api('POST', `/api/v1/domains/${d.id}/users/42/token`, { ttlSeconds: 0 }, d.apiKey)
  assert.equal(bad.status, 400)
  assert.match(bad.body.error.message, /ttlSeconds/)
  // the user now exists, offline
  const p = await s.api('GET', `/api/v1/domains/${d.id}/presence`, undefined, d.apiKey)
  assert.deepEqual(p.body.users.map((u: { userid: number, status: string }) => [u.userid, u.status]), [[42, 'offline']])
})

test('the customer\'s server sends a message through the API: stored, delivered, same event', async (t) => {
  const s = await startServer(t, {}, { MQCHAT_USER_RATE: '1/1m,burst=1' })
  const d = await s.domain()
  const bob = await s.connect(d, 3601)
  const inbox = new Inbox(bob)
  await bob.subscribeAsync(`chat/${d.id}/3601/inbox`, { qos: 1 })
  // Not rate-limited, unlike MQTT sends.
  const sent = []
  for (let i = 0; i < 3; i++) {
    const r = await s.api('POST', `/api/v1/domains/${d.id}/messages`, { from_userid: 2, to_userid: 3601, message: `hello ${i}`, type: 1, p1: 'sticker-7' }, d.apiKey)
    assert.equal(r.status, 201)
    sent.push(r.body)
  }
  assert.deepEqual(sent[0], {
    from_userid: 2,
    message: { id: sent[0].message.id, message: 'hello 0', p1: 'sticker-7', p2: '', p3: '', timestamp: sent[0].message.timestamp, type: 1 },
    to_userid: 3601
  })
  await inbox.next(() => inbox.received.length === 3, 'three messages')
  assert.deepEqual(inbox.received.map((m) => m.payload), sent)
  const wrong = await s.api('POST', `/api/v1/domains/${d.id}/messages`, { from_userid: 2, to_userid: 3601, message: 'x', type: '1' }, d.apiKey)
  assert.equal(wrong.status, 400)
  assert.match(wrong.body.error.message, /body\/type|type/)
})

test('history pages back through a conversation, over REST and over MQTT, and catches up after an id', async (t) => {
  const s = await startServer(t)
  const d = await s.domain()
  const ids: number[] = []
  for (let i = 0; i < 7; i++) {
    const [from, to] = i % 2 === 0 ? [2, 3601] : [3601, 2]
    const r = await s.api('POST', `/api/v1/domains/${d.id}/messages`, { from_userid: from, to_userid: to, message: `m${i}`, type: 0 }, d.apiKey)
    ids.push(r.body.message.id)
  }
  await s.api('POST', `/api/v1/domains/${d.id}/messages`, { from_userid: 2, to_userid: 5, message: 'other', type: 0 }, d.apiKey)
  const page = async (q: string) => (await s.api('GET', `/api/v1/domains/${d.id}/messages?${q}`, undefined, d.apiKey)).body.messages.map((m: any) => m.message.message)
  assert.deepEqual(await page('userid=2&peer=3601&limit=3'), ['m6', 'm5', 'm4'])
  assert.deepEqual(await page(`userid=2&peer=3601&limit=3&before=${ids[4]}`), ['m3', 'm2', 'm1'])
  assert.deepEqual(await page(`userid=3601&peer=2&before=${ids[1]}`), ['m0'])
  assert.deepEqual(await page('userid=2&limit=2'), ['other', 'm6'])
  assert.deepEqual(await page(`userid=3601&after=${ids[4]}`), ['m5', 'm6'])
  const peerAlone = await s.api('GET', `/api/v1/domains/${d.id}/messages?peer=2`, undefined, d.apiKey)
  assert.equal(peerAlone.status, 400)

  const me = await s.connect(d, 2)
  const acks = new Inbox(me)
  await me.subscribeAsync(`chat/${d.id}/2/ack`, { qos: 1 })
  await me.publishAsync(`chat/${d.id}/2/history`, JSON.stringify({ peer: 3601, limit: 2, cid: 'h1' }), { qos: 1 })
  await me.publishAsync(`chat/${d.id}/2/history`, JSON.stringify({ peer: 3601, before: ids[5], limit: 2, cid: 'h2' }), { qos: 1 })
  await me.publishAsync(`chat/${d.id}/2/history`, JSON.stringify({ after: ids[5], cid: 'h3' }), { qos: 1 })
  const texts = async (cid: string) => (await acks.next((m) => m.payload.cid === cid, cid)).payload.messages.map((m: any) => m.message.message)
  assert.deepEqual(await texts('h1'), ['m6', 'm5'])
  assert.deepEqual(await texts('h2'), ['m4', 'm3'])
  assert.deepEqual(await texts('h3'), ['m6', 'other'])
})

test('the OpenAPI document describes every call of the API', async (t) => {
  const s = await startServer(t)
  const res = await fetch(`${s.httpUrl}/api/v1/openapi.json`)
  assert.equal(res.status, 200)
  const doc = await res.json() as { openapi: string, paths: Record<string, Record<string, any>> }
  assert.match(doc.openapi, /^3\./)
  const calls = [
    'get /api/v1/me', 'post /api/v1/domains', 'get /api/v1/domains', 'get /api/v1/domains/{domain}', 'post /api/v1/domains/{domain}/keys/rotate',
    'post /api/v1/domains/{domain}/users/{userid}/token', 'patch /api/v1/domains/{domain}',
    'put /api/v1/domains/{domain}/users/{userid}', 'get /api/v1/domains/{domain}/users/{userid}', 'get /api/v1/domains/{domain}/users', 'delete /api/v1/domains/{domain}/users/{userid}',
    'get /api/v1/domains/{domain}/users/{userid}/conversations', 'put /api/v1/domains/{domain}/users/{userid}/blocks/{peer}',
    'delete /api/v1/domains/{domain}/users/{userid}/blocks/{peer}',
    'get /api/v1/domains/{domain}/users/{userid}/friends', 'put /api/v1/domains/{domain}/users/{userid}/friends/{peer}',
    'delete /api/v1/domains/{domain}/users/{userid}/friends/{peer}',
    'get /api/v1/push/key', 'post /api/v1/domains/{domain}/users/{userid}/push', 'delete /api/v1/domains/{domain}/users/{userid}/push',
    'get /api/v1/domains/{domain}/users/{userid}/ice',
    'get /api/v1/domains/{domain}/callbacks/{kind}', 'put /api/v1/domains/{domain}/callbacks/{kind}',
    'post /api/v1/domains/{domain}/callbacks/{kind}/rotate-secret', 'post /api/v1/domains/{domain}/callbacks/{kind}/test',
    'get /api/v1/domains/{domain}/callbacks/{kind}/logs', 'post /api/v1/domains/{domain}/callbacks/{kind}/replay',
    'get /api/v1/domains/{domain}/callbacks/{kind}/events',
    'get /api/v1/domains/{domain}/presence', 'get /api/v1/domains/{domain}/messages', 'post /api/v1/domains/{domain}/messages',
    'post /api/v1/domains/{domain}/files'
  ]
  const have = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`))
  assert.deepEqual([...have].sort(), [...calls].sort())
  // generated from the validating schemas: the send body names its limits
  const send = doc.paths['/api/v1/domains/{domain}/messages']!.post.requestBody.content['application/json'].schema
  assert.equal(send.properties.message.maxLength, 4096)
  assert.deepEqual(send.required.sort(), ['from_userid', 'message', 'to_userid', 'type'])
})

test('health and metrics: /healthz is open, /metrics needs the operator key', async (t) => {
  const s = await startServer(t)
  const h = await fetch(`${s.httpUrl}/healthz`)
  assert.equal(h.status, 200)
  const d = await s.domain()
  await s.connect(d, 1)
  await s.api('POST', `/api/v1/domains/${d.id}/messages`, { from_userid: 1, to_userid: 2, message: 'x', type: 0 }, d.apiKey)
  assert.equal((await fetch(`${s.httpUrl}/metrics`)).status, 401)
  assert.equal((await fetch(`${s.httpUrl}/metrics`, { headers: { authorization: `Bearer ${d.apiKey}` } })).status, 403)
  const m = await fetch(`${s.httpUrl}/metrics`, { headers: { authorization: `Bearer ${s.operatorKey}` } })
  const text = await m.text()
  assert.match(text, /^mqchat_mqtt_connections 1$/m)
  assert.match(text, /^mqchat_messages_total 1$/m)
})
