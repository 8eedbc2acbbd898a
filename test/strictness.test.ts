// Strictness where the contract was loose (issue 11): one exact form for what clients send,
// bounded and secret-free logs, the protocol's own rules on strings and SUBACKs, and the
// contract's error shape everywhere.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { loggable } from '../src/broker/index.ts'
import { signToken, verifyToken } from '../src/chat/tokens.ts'
import { CONNACK_ACCEPTED, connackCode, connectPacket, rawConnection, subackCodes } from './helpers/mqtt.ts'
import { packets, publishPacketBytes, SUBACK, subscribePacket } from './helpers/packets.ts'
import { run, tempDir } from './helpers/process.ts'
import { Inbox, startServer } from './helpers/server.ts'
import { waitFor } from './helpers/wait.ts'

const NOT_AUTHORIZED = 5

/** Changes the last character of a base64url segment within its spare low bits. */
function spareBits (segment: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const last = alphabet.indexOf(segment.at(-1)!)
  return segment.slice(0, -1) + alphabet[last ^ 1]
}

test('tokens: only the exact string is accepted; appended characters or re-encoded bits are refused', () => {
  const now = 1_700_000_000
  const good = signToken('s3cret', { sub: '42', aud: 'acme', exp: now + 60 })
  assert.deepEqual(verifyToken(good, 's3cret', 'acme', 42, now), { ok: true })
  const [h, p, sig] = good.split('.') as [string, string, string]
  assert.equal(sig.length % 4, 3, 'a 32-byte signature leaves 2 spare bits in its last character')
  const variants: Array<[string, string]> = [
    ['a space appended', `${good} `],
    ['"!!**" appended', `${good}!!**`],
    ['padding appended', `${good}=`],
    ['a newline appended', `${good}\n`],
    ['a space inside the claims', `${h}.${p.slice(0, 4)} ${p.slice(4)}.${sig}`],
    ['the signature\'s spare bits changed', `${h}.${p}.${spareBits(sig)}`],
    ['standard base64 characters', `${h}.${p}.${sig.replaceAll('-', '+').replaceAll('_', '/')}x`]
  ]
  for (const [name, token] of variants) {
    if (token === good) continue
    const r = verifyToken(token, 's3cret', 'acme', 42, now)
    assert.equal(r.ok, false, `${name} must be refused`)
  }
})

test('a CONNECT whose token has a character appended is refused with "not authorized"', async (t) => {
  const s = await startServer(t)
  const d = await s.domain()
  const token = await s.token(d, 42)
  for (const extra of [' ', '!!**']) {
    assert.equal(await connackCode(s.mqttUrl, { username: `${d.id}/42`, password: token + extra }), NOT_AUTHORIZED, JSON.stringify(extra))
  }
  assert.equal(await connackCode(s.mqttUrl, { username: `${d.id}/42`, password: token }), 0)
})

test('a connection\'s token is not kept in the server\'s memory once its CONNECT is checked', async (t) => {
  const s = await startServer(t)
  const d = await s.domain()
  const c = await s.connect(d, 1, { clientId: 'keeps-no-token' })
  // mqtt-packet's parser keeps the CONNECT packet (auth.ts): its username stays, its password goes.
  const clients = (s.app.broker.aedes as unknown as { clients: Record<string, { _parser: { settings: { username?: string, password?: Buffer } } }> }).clients
  const settings = clients[`${d.id}/1/keeps-no-token`]!._parser.settings
  assert.equal(settings.username, `${d.id}/1`, 'the parser still keeps the CONNECT packet')
  assert.equal(settings.password, undefined)
  assert.equal(c.connected, true)
})

test('loggable usernames: bounded, and a token-shaped one is redacted', () => {
  assert.equal(loggable('acme/2'), 'acme/2')
  assert.equal(loggable('a.b.c/2'), 'a.b.c/2')
  assert.equal(loggable(undefined), undefined)
  const long = loggable('x'.repeat(60_000))!
  assert.ok(long.length < 200, long)
  assert.match(long, /60000 characters/)
  const jwt = signToken('s', { sub: '2', aud: 'acme', exp: 1 })
  assert.equal(loggable(jwt), '[redacted: looks like a token]')
  assert.equal(loggable(`acme/2 ${jwt}`), '[redacted: looks like a token]')
})

test('a refused CONNECT logs neither a whole 60 KB username nor a token sent as the username', async (t) => {
  const KEY = 'strictness-operator-key-0123456789'
  const p = run(t, { MQCHAT_DATA_DIR: tempDir(t), MQCHAT_ADMIN_KEY: KEY })
  const { httpPort, mqttPort } = await p.ready
  const call = async (path: string, body: unknown, key = KEY): Promise<any> => {
    const r = await fetch(`http://127.0.0.1:${httpPort}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
    return r.json()
  }
  const d = await call('/api/v1/domains', { id: 'acme', name: 'Acme' })
  const { token } = await call('/api/v1/domains/acme/users/2/token', {}, d.apiKey)
  const url = `mqtt://127.0.0.1:${mqttPort}`
  assert.equal(await connackCode(url, { username: `acme/${'9'.repeat(60_000)}`, password: token }), NOT_AUTHORIZED)
  // Username and password swapped.
  assert.equal(await connackCode(url, { username: token, password: 'acme/2' }), NOT_AUTHORIZED)
  await waitFor(() => p.stdout().split('\n').filter((l) => l.includes('"connection refused"')).length === 2, 'both refusals logged')
  for (const line of p.stdout().split('\n')) assert.ok(line.length < 2048, `a log line of ${line.length} characters`)
  assert.ok(!p.stdout().includes(token), 'the token is not in the log')
  assert.ok(!p.stdout().includes(token.split('.')[2]!), 'not even its signature')
  p.child.kill('SIGTERM')
  assert.equal(await p.exited, 0)
})

// --- [MQTT-1.5.3-1] [MQTT-1.5.3-2] strings are well-formed UTF-8 without U+0000 ---

const badStrings: Array<[string, (d: string) => Buffer]> = [
  ['a PUBLISH topic with a byte that is not UTF-8', (d) => publishPacketBytes(Buffer.concat([Buffer.from(`chat/${d}/2/send`), Buffer.from([0xff])]), '{}')],
  ['a PUBLISH topic with an overlong encoding', (d) => publishPacketBytes(Buffer.concat([Buffer.from(`chat/${d}/2/`), Buffer.from([0xc1, 0xb3]), Buffer.from('end')]), '{}')],
  ['a PUBLISH topic with an encoded surrogate', (d) => publishPacketBytes(Buffer.concat([Buffer.from(`chat/${d}/2/send`), Buffer.from([0xed, 0xa0, 0x80])]), '{}')],
  ['a PUBLISH topic with U+0000', (d) => publishPacketBytes(`chat/${d}/2/send\u0000`, JSON.stringify({ to_userid: 3, message: 'x', type: 0 }))],
  ['a SUBSCRIBE filter with a byte that is not UTF-8', (d) => subscribePacket([Buffer.concat([Buffer.from(`chat/${d}/2/ack`), Buffer.from([0xfe])])])],
  ['a SUBSCRIBE filter with U+0000', (d) => subscribePacket([`chat/${d}/2/ack\u0000`])]
]

for (const [name, packet] of badStrings) {
  test(`${name} closes the connection; nothing is stored and others carry on`, async (t) => {
    const s = await startServer(t)
    const d = await s.domain()
    const bob = await s.connect(d, 3)
    const bobIn = new Inbox(bob)
    await bob.subscribeAsync(`chat/${d.id}/3/inbox`, { qos: 1 })
    const raw = await rawConnection(t, s.app.mqttPort)
    raw.write(connectPacket({ username: `${d.id}/2`, password: await s.token(d, 2) }))
    await raw.bytes(4)
    assert.ok(raw.received.equals(CONNACK_ACCEPTED))
    raw.write(packet(d.id))
    await raw.closed()
    assert.equal(raw.received.length, 4, 'nothing but the CONNACK came back')
    const alice = await s.connect(d, 2)
    await alice.publishAsync(`chat/${d.id}/2/send`, JSON.stringify({ to_userid: 3, message: 'after', type: 0 }), { qos: 1 })
    await bobIn.next((m) => m.payload.message?.message === 'after', 'the next message')
    const stored = await s.api('GET', `/api/v1/domains/${d.id}/messages`, undefined, d.apiKey)
    assert.deepEqual(stored.body.messages.map((m: any) => m.message.message), ['after'])
  })
}

test('a well-formed non-ASCII topic is not mistaken for a broken one: refused by the ACL, connection kept', async (t) => {
  const s = await startServer(t)
  const d = await s.domain()
  const c = await s.connect(d, 2)
  assert.deepEqual(await subackCodes(c, [`chat/${d.id}/2/\ufffd`, `chat/${d.id}/2/é`]), [0x80, 0x80])
  assert.equal(c.connected, true)
})

// --- [MQTT-3.9.3-1] one SUBACK return code per topic filter ---

test('a SUBSCRIBE naming a filter more than once gets one return code per filter, in order', async (t) => {
  const s = await startServer(t)
  const d = await s.domain()
  const raw = await rawConnection(t, s.app.mqttPort)
  raw.write(connectPacket({ username: `${d.id}/2`, password: await s.token(d, 2) }))
  await raw.bytes(4)
  const ack = `chat/${d.id}/2/ack`
  const inbox = `chat/${d.id}/2/inbox`
  const forbidden = `chat/${d.id}/3/inbox`
  const cases: Array<[string[], number[]]> = [
    [[ack, ack], [1, 1]],
    [[ack, inbox, ack, forbidden, forbidden, inbox], [1, 1, 1, 0x80, 0x80, 1]],
    [[forbidden, forbidden, forbidden], [0x80, 0x80, 0x80]]
  ]
  let id = 10
  for (const [filters, want] of cases) {
    const before = packets(raw.received).length
    raw.write(subscribePacket(filters, ++id))
    const suback = await waitFor(() => packets(raw.received).slice(before).find((q) => q.type === SUBACK), `the SUBACK of ${filters.length} filters`)
    assert.equal(suback.body.readUInt16BE(0), id)
    assert.deepEqual([...suback.body.subarray(2)], want, filters.join(' '))
  }
  assert.equal(raw.isClosed, false)
})

// --- text that is not UTF-8 is refused, never stored with U+FFFD ---

test('a send whose payload has bytes that are not UTF-8 gets a clear error ack; nothing stored or delivered', async (t) => {
  const s = await startServer(t)
  const d = await s.domain()
  const alice = await s.connect(d, 2)
  const aliceIn = new Inbox(alice)
  const bob = await s.connect(d, 3)
  const bobIn = new Inbox(bob)
  await alice.subscribeAsync(`chat/${d.id}/2/ack`, { qos: 1 })
  await bob.subscribeAsync(`chat/${d.id}/3/inbox`, { qos: 1 })
  const payload = Buffer.concat([Buffer.from('{"to_userid":3,"type":0,"cid":"bad","message":"caf'), Buffer.from([0xe9]), Buffer.from('"}')])
  await alice.publishAsync(`chat/${d.id}/2/send`, payload, { qos: 1 })
  const ack = await aliceIn.next((m) => m.payload.cid === 'bad', 'the error ack')
  assert.equal(ack.payload.error.code, 'invalid_json')
  assert.match(ack.payload.error.message, /UTF-8/)
  await alice.publishAsync(`chat/${d.id}/2/send`, JSON.stringify({ to_userid: 3, message: 'café', type: 0, cid: 'good' }), { qos: 1 })
  await bobIn.next((m) => m.payload.message?.message === 'café', 'the good message')
  assert.deepEqual(bobIn.received.map((m) => m.payload.message.message), ['café'])
  const stored = await s.api('GET', `/api/v1/domains/${d.id}/messages`, undefined, d.apiKey)
  assert.deepEqual(stored.body.messages.map((m: any) => m.message.message), ['café'])
})

test('a REST body with bytes that are not UTF-8 is refused with 400 invalid_json; nothing stored', async (t) => {
  const s = await startServer(t)
  const d = await s.domain()
  const body = Buffer.concat([Buffer.from('{"from_userid":2,"to_userid":3,"type":0,"message":"caf'), Buffer.from([0xe9]), Buffer.from('"}')])
  const r = await fetch(`${s.httpUrl}/api/v1/domains/${d.id}/messages`, { method: 'POST', headers: { authorization: `Bearer ${d.apiKey}`, 'content-type': 'application/json' }, body })
  assert.equal(r.status, 400)
  const err = await r.json() as any
  assertErrorBody(err, 'invalid_json')
  assert.match(err.error.message, /UTF-8/)
  const stored = await s.api('GET', `/api/v1/domains/${d.id}/messages`, undefined, d.apiKey)
  assert.deepEqual(stored.body.messages, [])
})

function assertErrorBody (body: any, code: string): void {
  assert.deepEqual(Object.keys(body), ['error'], JSON.stringify(body))
  assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message'], JSON.stringify(body))
  assert.equal(body.error.code, code, JSON.stringify(body))
  assert.ok(typeof body.error.message === 'string' && body.error.message.length > 0)
}

// --- REST: one form for userids, the contract's error shape everywhere ---

test('a userid in a REST path or query is accepted only in its canonical decimal form, as over MQTT', async (t) => {
  const s = await startServer(t)
  const d = await s.domain()
  for (const bad of ['0x10', '1e3', '02', '2.0', '+2', '-2', '0', '9007199254740992', '%202']) {
    const r = await s.api('POST', `/api/v1/domains/${d.id}/users/${bad}/token`, {}, d.apiKey)
    assert.equal(r.status, 400, `path userid ${bad}: ${JSON.stringify(r.body)}`)
    assertErrorBody(r.body, 'invalid_request')
    assert.match(r.body.error.message, /userid/)
    for (const q of [`userid=${bad}`, `userid=2&peer=${bad}`]) {
      const h = await s.api('GET', `/api/v1/domains/${d.id}/messages?${q}`, undefined, d.apiKey)
      assert.equal(h.status, 400, `query ${q}: ${JSON.stringify(h.body)}`)
      assert.match(h.body.error.message, /userid|peer/)
    }
  }
  const ok = await s.api('POST', `/api/v1/domains/${d.id}/users/16/token`, {}, d.apiKey)
  assert.equal(ok.status, 200)
  const h = await s.api('GET', `/api/v1/domains/${d.id}/messages?userid=2&peer=16`, undefined, d.apiKey)
  assert.equal(h.status, 200)
})

test('a request with 100 KB of headers gets 431 in the contract\'s error shape', async (t) => {
  const s = await startServer(t)
  const r = await fetch(`${s.httpUrl}/api/v1/domains`, { headers: { authorization: `Bearer ${s.operatorKey}`, 'x-big': 'x'.repeat(100_000) } })
  assert.equal(r.status, 431)
  assert.match(r.headers.get('content-type') ?? '', /application\/json/)
  assertErrorBody(await r.json(), 'headers_too_large')
  assert.equal((await fetch(`${s.httpUrl}/healthz`)).status, 200)
})

test('a JSON body with a "__proto__" key is refused with a message that says so, not "not valid JSON"', async (t) => {
  const s = await startServer(t)
  const d = await s.domain()
  for (const body of ['{"__proto__":{"x":1},"id":"p1","name":"P"}', '{"id":"p1","name":{"__proto__":null}}', '{"constructor":{"prototype":{"x":1}},"id":"p1","name":"P"}']) {
    const r = await s.api('POST', '/api/v1/domains', body)
    assert.equal(r.status, 400, body)
    assertErrorBody(r.body, 'invalid_request')
    assert.doesNotMatch(r.body.error.message, /not valid JSON/, body)
    assert.match(r.body.error.message, /__proto__|constructor/, body)
  }
  const r = await s.api('POST', `/api/v1/domains/${d.id}/messages`, '{"from_userid":2,"to_userid":3,"type":0,"message":"x","__proto__":{}}', d.apiKey)
  assert.equal(r.status, 400)
  assert.match(r.body.error.message, /__proto__/)
  assert.equal((await s.api('GET', '/api/v1/domains/p1')).status, 404, 'nothing was created')
})

test('a callback URL with spaces or control characters around it is refused with invalid_url, never stored', async (t) => {
  const s = await startServer(t, {}, { MQCHAT_CALLBACK_ALLOW_PRIVATE: '1' })
  const d = await s.domain()
  for (const url of [' https://example.com/hook', 'https://example.com/hook ', '\thttps://example.com/hook', 'https://example.com/hook\n', 'https://exam\nple.com/hook']) {
    const r = await s.api('PUT', `/api/v1/domains/${d.id}/callbacks/messages`, { url }, d.apiKey)
    assert.equal(r.status, 400, JSON.stringify(url))
    assertErrorBody(r.body, 'invalid_url')
    assert.match(r.body.error.message, /space|control/)
  }
  const now = await s.api('GET', `/api/v1/domains/${d.id}/callbacks/messages`, undefined, d.apiKey)
  assert.equal(now.body.url, null)
})
