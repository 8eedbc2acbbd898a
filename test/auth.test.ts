// SPEC §3 CONNECT auth and the topic ACL, and SPEC §2 operator vs domain rights.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import jwt from 'jsonwebtoken'
import mqtt, { type MqttClient } from 'mqtt'
import { Inbox, startServer, type TestServer } from './helpers/server.ts'
import { closedBy, connackCode, subackCodes } from './helpers/mqtt.ts'
import { waitFor } from './helpers/wait.ts'

const NOT_AUTHORIZED = 5
const UNACCEPTABLE_PROTOCOL_VERSION = 1
const SUBACK_FAILURE = 0x80

const nowSec = (): number => Math.floor(Date.now() / 1000)
const b64url = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url')

/** A user that can round-trip a message proves its connection is alive and authorised. */
async function roundTrip (s: TestServer, d: { id: string }, from: MqttClient, fromId: number, to: Inbox, toId: number, text: string): Promise<void> {
  await from.publishAsync(`chat/${d.id}/${fromId}/send`, JSON.stringify({ to_userid: toId, message: text, type: 0 }), { qos: 1 })
  await to.next((m) => m.topic === `chat/${d.id}/${toId}/inbox` && m.payload?.message?.message === text, `"${text}" in ${toId}'s inbox`)
}

test('a CONNECT without a valid identity or token is refused with "not authorized", and others still get in', async (t) => {
  const s = await startServer(t)
  const d = await s.domain()
  const other = await s.domain()
  const good = await s.token(d, 42)
  const payload = { sub: '42', aud: d.id }
  const cases: Array<[string, { username?: string, password?: string }]> = [
    ['no username and no password', {}],
    ['a username without a password', { username: `${d.id}/42` }],
    ['a username without a slash', { username: `${d.id}42`, password: good }],
    ['an unknown domain', { username: `no-such-domain/42`, password: good }],
    ['userid 0', { username: `${d.id}/0`, password: good }],
    ['userid -1', { username: `${d.id}/-1`, password: good }],
    ['userid 01 (not canonical)', { username: `${d.id}/01`, password: good }],
    ['userid 2^53', { username: `${d.id}/9007199254740992`, password: good }],
    ['userid "abc"', { username: `${d.id}/abc`, password: good }],
    ['a username with a third part', { username: `${d.id}/42/x`, password: good }],
    ['a wrong password', { username: `${d.id}/42`, password: 'hunter2' }],
    ['an empty password', { username: `${d.id}/42`, password: '' }],
    ['a garbage string', { username: `${d.id}/42`, password: 'a.b.c' }],
    ['a token signed with another domain\'s secret', { username: `${d.id}/42`, password: jwt.sign(payload, other.tokenSecret, { algorithm: 'HS256', expiresIn: 60 }) }],
    ['a token for another userid', { username: `${d.id}/42`, password: await s.token(d, 43) }],
    ['a token for another domain (aud)', { username: `${d.id}/42`, password: jwt.sign({ sub: '42', aud: other.id }, d.tokenSecret, { algorithm: 'HS256', expiresIn: 60 }) }],
    ['another domain\'s own valid token for the same userid', { username: `${d.id}/42`, password: await s.token(other, 42) }],
    ['an expired token', { username: `${d.id}/42`, password: jwt.sign({ ...payload, exp: nowSec() - 10 }, d.tokenSecret, { algorithm: 'HS256' }) }],
    ['a token expiring this very second', { username: `${d.id}/42`, password: jwt.sign({ ...payload, exp: nowSec() }, d.tokenSecret, { algorithm: 'HS256' }) }],
    ['a token without exp', { username: `${d.id}/42`, password: jwt.sign(payload, d.tokenSecret, { algorithm: 'HS256' }) }],
    ['a token with alg "none"', { username: `${d.id}/42`, password: `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ ...payload, exp: nowSec() + 60 })}.` }],
    ['a valid token re-labelled alg "none"', { username: `${d.id}/42`, password: [b64url({ alg: 'none', typ: 'JWT' }), ...good.split('.').slice(1)].join('.') }],
    ['a token with alg HS512', { username: `${d.id}/42`, password: jwt.sign(payload, d.tokenSecret, { algorithm: 'HS512', expiresIn: 60 }) }],
    ['a token with a tampered payload', { username: `${d.id}/43`, password: [good.split('.')[0], b64url({ ...JSON.parse(Buffer.from(good.split('.')[1]!, 'base64url').toString()), sub: '43' }), good.split('.')[2]].join('.') }],
    ['a token with an empty secret', { username: `${d.id}/42`, password: jwt.sign(payload, Buffer.alloc(0), { algorithm: 'HS256', expiresIn: 60 }) }]
  ]
  for (const [name, creds] of cases) {
    await t.test(`${name} is refused with return code 5`, async () => {
      assert.equal(await connackCode(s.mqttUrl, { ...creds, clientId: `refused-${Math.random()}` }), NOT_AUTHORIZED)
    })
  }
  await t.test('a valid client still connects afterwards', async () => {
    assert.equal(await connackCode(s.mqttUrl, { username: `${d.id}/42`, password: good }), 0)
    const alice = await s.connect(d, 42)
    const bob = await s.connect(d, 43)
    const bobIn = new Inbox(bob)
    await bob.subscribeAsync(`chat/${d.id}/43/inbox`, { qos: 1 })
    await roundTrip(s, d, alice, 42, bobIn, 43, 'still here')
  })
})

test('a token minted by the customer\'s own server with jsonwebtoken lets the user connect and chat', async (t) => {
  const s = await startServer(t)
  const d = await s.domain()
  // What a customer's PHP or Node server does, with no call to the API.
  const token = jwt.sign({ sub: '42', aud: d.id }, d.tokenSecret, { algorithm: 'HS256', expiresIn: 60 })
  const alice = await s.connect(d, 7)
  const aliceIn = new Inbox(alice)
  await alice.subscribeAsync(`chat/${d.id}/7/inbox`, { qos: 1 })
  // No API call has ever mentioned user 42: it exists from its first connection.
  const me = await mqtt.connectAsync(s.mqttUrl, { username: `${d.id}/42`, password: token, reconnectPeriod: 0, connectTimeout: 5000 })
  t.after(() => me.endAsync(true))
  await roundTrip(s, d, me, 42, aliceIn, 7, 'hello from a self-minted token')
  await waitFor(async () => {
    const r = await s.api('GET', `/api/v1/domains/${d.id}/presence?status=online`, undefined, d.apiKey)
    return r.body.users.some((u: { userid: number }) => u.userid === 42)
  }, 'user 42 online')
})

test('an MQTT 5 CONNECT gets "unacceptable protocol version"', async (t) => {
  const s = await startServer(t)
  const d = await s.domain()
  const token = await s.token(d, 1)
  // aedes@1 speaks 3.1.1 only; mqtt.js reports the CONNACK code 1 as
  // "Connection refused: Unacceptable protocol version".
  assert.equal(await connackCode(s.mqttUrl, { username: `${d.id}/1`, password: token, protocolVersion: 5 }), UNACCEPTABLE_PROTOCOL_VERSION)
  assert.equal(await connackCode(s.wsUrl, { username: `${d.id}/1`, password: token, protocolVersion: 5 }), UNACCEPTABLE_PROTOCOL_VERSION)
  // The same user with 3.1.1 is welcome.
  assert.equal(await connackCode(s.mqttUrl, { username: `${d.id}/1`, password: token, protocolVersion: 4 }), 0)
})

test('a user may subscribe only to its own inbox and ack and to its domain\'s presence; anything else gets SUBACK 128', async (t) => {
  const s = await startServer(t)
  const d = await s.domain()
  const other = await s.domain()
  const alice = await s.connect(d, 2)
  const bob = await s.connect(d, 3)
  const aliceIn = new Inbox(alice)
  const bobIn = new Inbox(bob)
  // Someone online in the other domain: its retained presence must not leak.
  await s.connect(other, 2)
  await waitFor(async () => (await s.api('GET', `/api/v1/domains/${other.id}/presence?status=online`, undefined, other.apiKey)).body.users.length === 1, 'the other domain\'s user online')

  const allowed = [`chat/${d.id}/2/inbox`, `chat/${d.id}/2/ack`, `chat/${d.id}/+/presence`, `chat/${d.id}/3/presence`, `chat/${d.id}/2/presence`]
  assert.deepEqual(await subackCodes(alice, allowed, 1), [1, 1, 1, 1, 1])
  assert.deepEqual(await subackCodes(alice, [`chat/${d.id}/2/inbox`], 0), [0])

  const refused = [
    `chat/${d.id}/3/inbox`, `chat/${d.id}/3/ack`, '#', '+/#', 'chat/#', `chat/${d.id}/#`, `chat/${d.id}/2/#`,
    `chat/${d.id}/+/inbox`, `chat/${d.id}/+/ack`, `chat/+/2/inbox`, `chat/+/+/presence`,
    `chat/${other.id}/+/presence`, `chat/${other.id}/2/presence`, `chat/${other.id}/2/inbox`,
    `chat/${d.id}/2/send`, `chat/${d.id}/2/status`, `chat/${d.id}/2/history`, `chat/${d.id}/0/presence`,
    '$SYS/#', '$mqchat/dropped', `$share/g/chat/${d.id}/3/inbox`, `chat/${d.id}/2/inbox/x`
  ]
  const codes = await subackCodes(alice, refused, 1)
  assert.deepEqual(Object.fromEntries(refused.map((f, i) => [f, codes[i]])), Object.fromEntries(refused.map((f) => [f, SUBACK_FAILURE])))

  // Still connected, still chatting, both ways.
  assert.equal(alice.connected, true)
  await bob.subscribeAsync(`chat/${d.id}/3/inbox`, { qos: 1 })
  await roundTrip(s, d, alice, 2, bobIn, 3, 'after the refusals')
  await roundTrip(s, d, bob, 3, aliceIn, 2, 'reply after the refusals')
  // Nothing of the other domain, and nothing of bob's inbox, reached alice.
  assert.deepEqual(aliceIn.received.filter((m) => !m.topic.startsWith(`chat/${d.id}/`)), [])
  assert.deepEqual(aliceIn.received.filter((m) => m.topic === `chat/${d.id}/3/inbox`), [])
})

test('a forged publish to another user\'s or another domain\'s topics never reaches anyone and stores nothing', async (t) => {
  const s = await startServer(t, {}, { MQCHAT_USER_RATE: '1000/1s,burst=1000' })
  const d = await s.domain()
  const o = await s.domain()
  const mallory = await s.connect(d, 2)
  const bob = await s.connect(d, 3)
  const bobIn = new Inbox(bob)
  const malloryIn = new Inbox(mallory)
  await bob.subscribeAsync([`chat/${d.id}/3/inbox`, `chat/${d.id}/3/ack`, `chat/${d.id}/+/presence`], { qos: 1 })
  await mallory.subscribeAsync([`chat/${d.id}/2/inbox`, `chat/${d.id}/2/ack`], { qos: 1 })
  // In the other domain, users 2 and 3 exist too.
  const eve = await s.connect(o, 3)
  const eveIn = new Inbox(eve)
  await eve.subscribeAsync([`chat/${o.id}/3/inbox`, `chat/${o.id}/3/ack`, `chat/${o.id}/+/presence`], { qos: 1 })
  const frank = await s.connect(o, 4)
  await bobIn.next((m) => m.topic === `chat/${d.id}/3/presence` && m.payload.status === 'online', 'bob online')
  await eveIn.next((m) => m.topic === `chat/${o.id}/3/presence` && m.payload.status === 'online', 'eve online')

  const fakeEvent = { from_userid: 9, message: { id: 1, message: 'forged', p1: '', p2: '', p3: '', timestamp: nowSec(), type: 0 }, to_userid: 3 }
  const forged: Array<[string, unknown, { retain?: boolean }?]> = [
    [`chat/${d.id}/3/inbox`, fakeEvent],
    [`chat/${d.id}/3/inbox`, fakeEvent, { retain: true }],
    [`chat/${d.id}/3/ack`, { cid: 'x', event: fakeEvent }],
    [`chat/${d.id}/3/send`, { to_userid: 3, message: 'forged as bob to bob', type: 0 }],
    [`chat/${d.id}/3/send`, { to_userid: 2, message: 'forged as bob to mallory', type: 0 }],
    [`chat/${d.id}/3/status`, { status: 'busy' }],
    [`chat/${d.id}/3/history`, { after: 0, cid: 'forged' }],
    [`chat/${d.id}/3/presence`, { userid: 3, status: 'offline', timestamp: nowSec() }, { retain: true }],
    [`chat/${d.id}/3/presence`, { userid: 3, status: 'away', timestamp: nowSec() }],
    [`chat/${d.id}/2/presence`, { userid: 2, status: 'offline', timestamp: nowSec() }, { retain: true }],
    [`chat/${d.id}/2/inbox`, fakeEvent],
    [`chat/${o.id}/3/inbox`, fakeEvent],
    [`chat/${o.id}/3/send`, { to_userid: 3, message: 'forged in another domain', type: 0 }],
    [`chat/${o.id}/2/send`, { to_userid: 3, message: 'forged as my id in another domain', type: 0 }],
    [`chat/${o.id}/2/status`, { status: 'busy' }],
    [`chat/${o.id}/3/presence`, { userid: 3, status: 'offline', timestamp: nowSec() }, { retain: true }],
    [`chat/${o.id}/2/history`, { after: 0 }],
    ['$SYS/x', 'forged'],
    ['$mqchat/dropped', 'forged']
  ]
  for (const qos of [0, 1, 2] as const) {
    for (const [topic, body, opts] of forged) {
      await mallory.publishAsync(topic, typeof body === 'string' ? body : JSON.stringify(body), { qos, ...opts })
    }
  }
  // Then one legitimate message in each domain; everything forged was published before it.
  await roundTrip(s, d, mallory, 2, bobIn, 3, 'legit in d')
  await roundTrip(s, o, frank, 4, eveIn, 3, 'legit in o')

  const forgedText = /forged/
  for (const [who, inbox] of [['bob', bobIn], ['eve', eveIn], ['mallory', malloryIn]] as const) {
    assert.deepEqual(inbox.received.filter((m) => forgedText.test(JSON.stringify(m.payload))), [], `${who} got something forged`)
  }
  assert.deepEqual(bobIn.on(`chat/${d.id}/3/inbox`).map((m) => m.payload.message.message), ['legit in d'])
  assert.deepEqual(bobIn.on(`chat/${d.id}/3/ack`), [])
  assert.deepEqual(eveIn.on(`chat/${o.id}/3/inbox`).map((m) => m.payload.message.message), ['legit in o'])
  assert.deepEqual(eveIn.on(`chat/${o.id}/3/ack`), [])
  // Presence only ever says online: no forged busy, away or offline.
  for (const m of [...bobIn.received, ...eveIn.received].filter((m) => m.topic.endsWith('/presence'))) {
    assert.equal(m.payload.status, 'online', `forged presence ${JSON.stringify(m)}`)
  }
  // The retained presence a newcomer sees is the server's, not the forged one.
  const carol = await s.connect(d, 5)
  const carolIn = new Inbox(carol)
  await carol.subscribeAsync(`chat/${d.id}/+/presence`, { qos: 1 })
  const retained = await carolIn.next((m) => m.topic === `chat/${d.id}/3/presence`, 'bob\'s retained presence')
  assert.equal(retained.payload.status, 'online')
  // Nothing forged was stored in either domain.
  const dMessages = await s.api('GET', `/api/v1/domains/${d.id}/messages`, undefined, d.apiKey)
  assert.deepEqual(dMessages.body.messages.map((m: { message: { message: string } }) => m.message.message), ['legit in d'])
  const oMessages = await s.api('GET', `/api/v1/domains/${o.id}/messages`, undefined, o.apiKey)
  assert.deepEqual(oMessages.body.messages.map((m: { message: { message: string } }) => m.message.message), ['legit in o'])
  const presence = await s.api('GET', `/api/v1/domains/${d.id}/presence`, undefined, d.apiKey)
  assert.deepEqual(presence.body.users.filter((u: { userid: number }) => u.userid === 3).map((u: { status: string }) => u.status), ['online'])
})

test('a last will addressed to another user\'s topics never reaches them', async (t) => {
  const s = await startServer(t)
  const d = await s.domain()
  const bob = await s.connect(d, 3)
  const bobIn = new Inbox(bob)
  await bob.subscribeAsync([`chat/${d.id}/3/inbox`, `chat/${d.id}/+/presence`], { qos: 1 })
  const fake = { from_userid: 9, message: { id: 1, message: 'forged will', p1: '', p2: '', p3: '', timestamp: nowSec(), type: 0 }, to_userid: 3 }
  const wills = [
    { topic: `chat/${d.id}/3/inbox`, payload: Buffer.from(JSON.stringify(fake)), qos: 1 as const, retain: false },
    { topic: `chat/${d.id}/3/presence`, payload: Buffer.from(JSON.stringify({ userid: 3, status: 'offline', timestamp: nowSec() })), qos: 1 as const, retain: true },
    { topic: `chat/${d.id}/2/send`, payload: Buffer.from(JSON.stringify({ to_userid: 3, message: 'forged will send', type: 0 })), qos: 1 as const, retain: false }
  ]
  const mallories = await Promise.all(wills.map((will) => s.connect(d, 2, { will })))
  await bobIn.next((m) => m.topic === `chat/${d.id}/2/presence` && m.payload.status === 'online', 'mallory online')
  // Dropped sockets, not DISCONNECTs: that is when a broker publishes wills.
  for (const m of mallories) (m as unknown as { stream: { destroy: () => void } }).stream.destroy()
  // Mallory's offline event comes after the grace time, long after any will would have gone out.
  await bobIn.next((m) => m.topic === `chat/${d.id}/2/presence` && m.payload.status === 'offline', 'mallory offline')
  const carol = await s.connect(d, 5)
  await roundTrip(s, d, carol, 5, bobIn, 3, 'legit after the wills')
  assert.deepEqual(bobIn.received.filter((m) => /forged/.test(JSON.stringify(m.payload))), [])
  assert.deepEqual(bobIn.received.filter((m) => m.topic === `chat/${d.id}/3/presence` && m.payload.status !== 'online'), [])
  const stored = await s.api('GET', `/api/v1/domains/${d.id}/messages`, undefined, d.apiKey)
  assert.deepEqual(stored.body.messages.map((m: { message: { message: string } }) => m.message.message), ['legit after the wills'])
})

test('a second connection with the same client id but another user does not disconnect the first', async (t) => {
  const s = await startServer(t)
  const d = await s.domain()
  const other = await s.domain()
  const alice = await s.connect(d, 2, { clientId: 'same-id' })
  let aliceClosed = false
  alice.on('close', () => { aliceClosed = true })
  const aliceIn = new Inbox(alice)
  await alice.subscribeAsync(`chat/${d.id}/2/inbox`, { qos: 1 })
  const bob = await s.connect(d, 3, { clientId: 'same-id' })
  const bobIn = new Inbox(bob)
  await bob.subscribeAsync(`chat/${d.id}/3/inbox`, { qos: 1 })
  // The same user id in another domain, same client id too.
  const alsoTwo = await s.connect(other, 2, { clientId: 'same-id' })
  assert.equal(alsoTwo.connected, true)
  // Both of the first domain's users still work, both ways, on the same connections.
  await roundTrip(s, d, alice, 2, bobIn, 3, 'alice still here')
  await roundTrip(s, d, bob, 3, aliceIn, 2, 'bob still here')
  assert.equal(aliceClosed, false)
  assert.equal(alice.connected, true)
  assert.equal(bob.connected, true)
})

test('the same user reconnecting with its own client id takes over its old connection', async (t) => {
  const s = await startServer(t)
  const d = await s.domain()
  const first = await s.connect(d, 2, { clientId: 'tab-1' })
  const firstClosed = closedBy(first)
  const second = await s.connect(d, 2, { clientId: 'tab-1' })
  // [MQTT-3.1.4-2] the server disconnects the existing client with that id
  await firstClosed
  assert.equal(second.connected, true)
})

test('a domain key acts only on its own domain: 403 for operator calls, 404 for other domains, 401 for unknown keys', async (t) => {
  const s = await startServer(t)
  const d = await s.domain()
  const o = await s.domain()
  const assertError = (r: { status: number, body: any }, status: number, code: string, what: string): void => {
    assert.equal(r.status, status, `${what}: ${JSON.stringify(r.body)}`)
    assert.deepEqual(Object.keys(r.body), ['error'], what)
    assert.deepEqual(Object.keys(r.body.error).sort(), ['code', 'message'], what)
    assert.equal(r.body.error.code, code, what)
    assert.equal(typeof r.body.error.message, 'string', what)
    assert.ok(r.body.error.message.length > 0, what)
  }

  assertError(await s.api('POST', '/api/v1/domains', { id: 'sneaky', name: 'Sneaky' }, d.apiKey), 403, 'forbidden', 'create a domain with a domain key')
  assertError(await s.api('GET', '/api/v1/domains', undefined, d.apiKey), 403, 'forbidden', 'list domains with a domain key')
  assertError(await s.api('GET', '/metrics', undefined, d.apiKey), 403, 'forbidden', 'metrics with a domain key')
  assert.equal((await s.api('GET', '/api/v1/domains')).body.domains.some((x: { id: string }) => x.id === 'sneaky'), false)

  const otherCalls: Array<[string, string, unknown?]> = [
    ['GET', `/api/v1/domains/${o.id}`],
    ['POST', `/api/v1/domains/${o.id}/users/1/token`, { ttlSeconds: 60 }],
    ['GET', `/api/v1/domains/${o.id}/presence`],
    ['GET', `/api/v1/domains/${o.id}/messages`],
    ['POST', `/api/v1/domains/${o.id}/messages`, { from_userid: 1, to_userid: 2, message: 'x', type: 0 }],
    ['POST', `/api/v1/domains/${o.id}/keys/rotate`],
    ['GET', `/api/v1/domains/${o.id}/callbacks/presence`]
  ]
  for (const [method, path, body] of otherCalls) {
    const r = await s.api(method, path, body, d.apiKey)
    assertError(r, 404, 'not_found', `${method} ${path} with another domain's key`)
    // Indistinguishable from a domain that does not exist.
    const missing = await s.api(method, path.replace(o.id, 'no-such-domain'), body, d.apiKey)
    assertError(missing, 404, 'not_found', `${method} ${path} of a missing domain`)
    assert.equal(missing.body.error.message.replace('no-such-domain', o.id), r.body.error.message)
  }
  // None of them did anything to the other domain: its key still works, no message stored.
  const oMessages = await s.api('GET', `/api/v1/domains/${o.id}/messages`, undefined, o.apiKey)
  assert.equal(oMessages.status, 200)
  assert.deepEqual(oMessages.body.messages, [])

  for (const key of ['mqk_unknown', o.apiKey.slice(0, -1), `${d.apiKey}x`, 'x'.repeat(600)]) {
    assertError(await s.api('GET', `/api/v1/domains/${d.id}`, undefined, key), 401, 'unauthorized', `key ${key.slice(0, 12)}…`)
  }
  const noAuth = await fetch(`${s.httpUrl}/api/v1/domains/${d.id}`)
  assertError({ status: noAuth.status, body: await noAuth.json() }, 401, 'unauthorized', 'no Authorization header')
  const basic = await fetch(`${s.httpUrl}/api/v1/domains/${d.id}`, { headers: { authorization: `Basic ${Buffer.from(`x:${d.apiKey}`).toString('base64')}` } })
  assertError({ status: basic.status, body: await basic.json() }, 401, 'unauthorized', 'Basic auth')

  // The operator key may act on any domain.
  assert.equal((await s.api('GET', `/api/v1/domains/${o.id}`)).status, 200)
  assert.equal((await s.api('GET', `/api/v1/domains/${d.id}`, undefined, d.apiKey)).status, 200)
})

test('rotating a domain key stops the old key at once and the new one works', async (t) => {
  const s = await startServer(t)
  const d = await s.domain()
  const o = await s.domain()
  const rotated = await s.api('POST', `/api/v1/domains/${d.id}/keys/rotate`, undefined, d.apiKey)
  assert.equal(rotated.status, 200)
  const newKey: string = rotated.body.apiKey
  assert.equal(typeof newKey, 'string')
  assert.notEqual(newKey, d.apiKey)

  const old = await s.api('GET', `/api/v1/domains/${d.id}`, undefined, d.apiKey)
  assert.equal(old.status, 401)
  assert.equal(old.body.error.code, 'unauthorized')
  assert.equal((await s.api('POST', `/api/v1/domains/${d.id}/keys/rotate`, undefined, d.apiKey)).status, 401)
  assert.equal((await s.api('POST', `/api/v1/domains/${d.id}/users/1/token`, {}, d.apiKey)).status, 401)

  const now = await s.api('GET', `/api/v1/domains/${d.id}`, undefined, newKey)
  assert.equal(now.status, 200)
  assert.equal(now.body.id, d.id)
  const token = await s.api('POST', `/api/v1/domains/${d.id}/users/1/token`, {}, newKey)
  assert.equal(token.status, 200)
  // The new token is accepted by the broker; the other domain's key is untouched.
  assert.equal(await connackCode(s.mqttUrl, { username: `${d.id}/1`, password: token.body.token }), 0)
  assert.equal((await s.api('GET', `/api/v1/domains/${o.id}`, undefined, o.apiKey)).status, 200)
  // The operator can rotate it too, and then the previous new key stops working.
  const byOperator = await s.api('POST', `/api/v1/domains/${d.id}/keys/rotate`)
  assert.equal(byOperator.status, 200)
  assert.equal((await s.api('GET', `/api/v1/domains/${d.id}`, undefined, newKey)).status, 401)
  assert.equal((await s.api('GET', `/api/v1/domains/${d.id}`, undefined, byOperator.body.apiKey)).status, 200)
})
