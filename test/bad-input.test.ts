// Bad input always gets a clear error and never costs data, crashes the server or slows
// other users (SPEC §2 errors, §3 validation). Every refusal here is followed by proof that
// the server still works: a legitimate message, sent afterwards, is the only thing that
// arrives, and the only thing stored.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { MqttClient } from 'mqtt'
import WebSocket from 'ws'
import { MAX_PACKET_BYTES } from '../src/broker/frame-limit.ts'
import { Inbox, startServer, type TestServer } from './helpers/server.ts'
import {
  CONNACK_ACCEPTED, closedBy, connectPacket, publishPacket, publishRemainingLength, rawConnection, remainingLength
} from './helpers/mqtt.ts'

type Domain = { id: string, apiKey: string, tokenSecret: string }

/** Two users of one domain: alice (2) sends and reads her acks, bob (3) reads his inbox. */
async function pair (s: TestServer, opts: { ws?: boolean } = {}): Promise<{ d: Domain, alice: MqttClient, aliceIn: Inbox, bob: MqttClient, bobIn: Inbox }> {
  const d = await s.domain()
  const alice = await s.connect(d, 2, opts)
  const bob = await s.connect(d, 3)
  const aliceIn = new Inbox(alice)
  const bobIn = new Inbox(bob)
  await alice.subscribeAsync([`chat/${d.id}/2/ack`, `chat/${d.id}/2/inbox`], { qos: 1 })
  await bob.subscribeAsync([`chat/${d.id}/3/inbox`, `chat/${d.id}/+/presence`], { qos: 1 })
  return { d, alice, aliceIn, bob, bobIn }
}

/** Sends a valid message from `from` (user `fromId`) to bob and waits until bob has it. */
async function sendAndDeliver (d: Domain, from: MqttClient, fromId: number, bobIn: Inbox, text: string): Promise<void> {
  await from.publishAsync(`chat/${d.id}/${fromId}/send`, JSON.stringify({ to_userid: 3, message: text, type: 0 }), { qos: 1 })
  await bobIn.next((m) => m.topic.endsWith('/3/inbox') && m.payload.message.message === text, `"${text}" in bob's inbox`)
}

/** The texts of every message stored in the domain, oldest first. */
async function stored (s: TestServer, d: Domain): Promise<string[]> {
  const r = await s.api('GET', `/api/v1/domains/${d.id}/messages?limit=500`, undefined, d.apiKey)
  assert.equal(r.status, 200)
  return r.body.messages.map((m: { message: { message: string } }) => m.message.message).reverse()
}

/** The server answers, and a fresh pair of users can still chat. */
async function stillServing (s: TestServer): Promise<void> {
  const health = await fetch(`${s.httpUrl}/healthz`)
  assert.equal(health.status, 200)
  const { d, alice, bobIn } = await pair(s)
  await sendAndDeliver(d, alice, 2, bobIn, 'the server is fine')
}

function assertErrorBody (body: any, code: string, what: string): void {
  assert.equal(typeof body, 'object', `${what}: ${JSON.stringify(body)}`)
  assert.deepEqual(Object.keys(body), ['error'], `${what}: ${JSON.stringify(body)}`)
  assert.equal(typeof body.error, 'object', `${what}: ${JSON.stringify(body)}`)
  assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message'], `${what}: ${JSON.stringify(body)}`)
  assert.equal(body.error.code, code, `${what}: ${JSON.stringify(body)}`)
  assert.equal(typeof body.error.message, 'string', what)
  assert.ok(body.error.message.length > 0, what)
}

/**
 * Publishes `payload` to one of alice's request topics and returns the ack it gets: the one
 * with its cid, or (for payloads that carry none) the next ack. Call it with no other request
 * of alice's in flight.
 */
function requester (d: Domain, alice: MqttClient, aliceIn: Inbox) {
  const ackTopic = `chat/${d.id}/2/ack`
  return async (leaf: 'send' | 'status' | 'history', payload: string, cid?: string): Promise<any> => {
    const before = aliceIn.on(ackTopic).length
    await alice.publishAsync(`chat/${d.id}/2/${leaf}`, payload, { qos: 1 })
    const ack = await aliceIn.next((m) => m.topic === ackTopic && (cid === undefined ? aliceIn.on(ackTopic).indexOf(m) >= before : m.payload.cid === cid),
      `an ack for ${payload.slice(0, 80)}`)
    return ack.payload
  }
}

// --- malformed MQTT ---

const malformed: Array<[string, (d: Domain, s: TestServer) => Promise<Buffer[]>]> = [
  ['garbage bytes', async () => [Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')]],
  ['bytes of a reserved packet type', async () => [Buffer.from([0xf0, 0x00]), Buffer.alloc(32, 0xff)]],
  ['a CONNECT with a bad protocol name', async (d, s) => [connectPacket({ protocolName: 'MQTX', username: `${d.id}/2`, password: await s.token(d, 2) })]],
  ['a CONNECT with protocol level 0', async (d, s) => [connectPacket({ protocolLevel: 0, username: `${d.id}/2`, password: await s.token(d, 2) })]],
  ['a PUBLISH before CONNECT', async (d) => [publishPacket(`chat/${d.id}/3/inbox`, 'forged before connect', 1)]],
  ['a remaining length with 5 continuation bytes', async () => [Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x00])]],
  ['a remaining length with 5 continuation bytes after CONNECT', async (d, s) => [
    connectPacket({ username: `${d.id}/2`, password: await s.token(d, 2) }), Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x00])]],
  ['a second CONNECT on one connection', async (d, s) => {
    const c = connectPacket({ username: `${d.id}/2`, password: await s.token(d, 2) })
    return [c, c]
  }]
]

for (const [name, bytes] of malformed) {
  test(`${name} on the MQTT port: that connection is closed, nobody else notices`, async (t) => {
    const s = await startServer(t)
    const { d, alice, bob, bobIn } = await pair(s)
    const raw = await rawConnection(t, s.app.mqttPort)
    for (const b of await bytes(d, s)) raw.write(b)
    await raw.closed()
    // At most a CONNACK came back, never anything else (such as a forwarded message).
    const got = raw.received
    assert.ok(got.length === 0 || got.subarray(0, 4).equals(CONNACK_ACCEPTED) || got[0] === 0x20, `unexpected bytes ${got.toString('hex')}`)
    assert.ok(got.length <= 4, `unexpected bytes ${got.toString('hex')}`)
    // Other users were not disturbed, nothing forged arrived, nothing was stored.
    await sendAndDeliver(d, alice, 2, bobIn, 'after the bad packet')
    assert.deepEqual(bobIn.on(`chat/${d.id}/3/inbox`).map((m) => m.payload.message?.message), ['after the bad packet'])
    assert.equal(alice.connected && bob.connected, true)
    assert.deepEqual(await stored(s, d), ['after the bad packet'])
    assert.equal((await fetch(`${s.httpUrl}/healthz`)).status, 200)
  })
}

// --- oversize packets ---

test(`a PUBLISH declaring more than ${MAX_PACKET_BYTES} bytes closes the connection at its header (TCP)`, async (t) => {
  const s = await startServer(t)
  const { d, alice, bobIn } = await pair(s)
  const raw = await rawConnection(t, s.app.mqttPort)
  raw.write(connectPacket({ username: `${d.id}/4`, password: await s.token(d, 4) }))
  await raw.bytes(4)
  assert.deepEqual(raw.received, CONNACK_ACCEPTED)
  // Only the header and a few bytes: the server must not wait for (or buffer) the body.
  raw.write(Buffer.concat([Buffer.from([0x32]), remainingLength(MAX_PACKET_BYTES + 1), Buffer.from('\x00\x05chat/')]))
  await raw.closed()
  // A 256 MB declaration is refused the same way.
  const huge = await rawConnection(t, s.app.mqttPort)
  huge.write(connectPacket({ username: `${d.id}/4`, password: await s.token(d, 4) }))
  await huge.bytes(4)
  huge.write(Buffer.concat([Buffer.from([0x30]), remainingLength(268_435_455)]))
  await huge.closed()
  await sendAndDeliver(d, alice, 2, bobIn, 'after the oversize packet')
})

/** A valid send padded with JSON whitespace to make its PUBLISH's remaining length exactly `size`. */
function paddedSend (topic: string, size: number, text: string, qos: 0 | 1 = 1): string {
  const body = JSON.stringify({ to_userid: 3, message: text, type: 0 })
  const pad = size - publishRemainingLength(topic, Buffer.byteLength(body), qos)
  assert.ok(pad >= 0)
  return body.slice(0, -1) + ' '.repeat(pad) + '}'
}

for (const ws of [false, true]) {
  const over = ws ? 'WebSocket' : 'TCP'
  test(`a send of exactly ${MAX_PACKET_BYTES} bytes is accepted and one byte more closes the connection (${over})`, async (t) => {
    const s = await startServer(t)
    const { d, alice, aliceIn, bobIn } = await pair(s, { ws })
    const topic = `chat/${d.id}/2/send`
    // At the limit: stored, delivered, acked.
    await alice.publishAsync(topic, paddedSend(topic, MAX_PACKET_BYTES, 'at the limit'), { qos: 1 })
    const ack = await aliceIn.next((m) => m.topic.endsWith('/ack'), 'the ack of the send at the limit')
    assert.equal(ack.payload.event.message.message, 'at the limit')
    await bobIn.next((m) => m.payload.message?.message === 'at the limit', 'the message at the limit')
    // One byte over: this connection is closed, nothing is stored.
    const closed = closedBy(alice)
    alice.publish(topic, paddedSend(topic, MAX_PACKET_BYTES + 1, 'over the limit'), { qos: 1 })
    await closed
    // And a much bigger one, from another connection of the same user.
    const again = await s.connect(d, 2, { ws })
    const closedAgain = closedBy(again)
    again.publish(topic, paddedSend(topic, 200_000, 'far over the limit'), { qos: 0 })
    await closedAgain
    const carol = await s.connect(d, 5, { ws })
    await sendAndDeliver(d, carol, 5, bobIn, 'after the oversize sends')
    assert.deepEqual(bobIn.on(`chat/${d.id}/3/inbox`).map((m) => m.payload.message.message), ['at the limit', 'after the oversize sends'])
    assert.deepEqual(await stored(s, d), ['at the limit', 'after the oversize sends'])
  })
}

/** JSON with every non-ASCII UTF-16 unit escaped, as PHP's json_encode and Python's json.dumps write by default. */
const asciiJson = (v: unknown): string =>
  JSON.stringify(v).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)

test('a send at every character limit, written as ASCII-only JSON, is accepted and not cut off by the packet limit', async (t) => {
  const s = await startServer(t)
  const { d, alice, aliceIn, bobIn } = await pair(s)
  // SPEC §3 allows 4,096 + 3 × 1,024 characters; each emoji is written as two \uXXXX escapes.
  const body = { to_userid: 3, message: long(4096, EMOJI), type: 0, p1: long(1024, EMOJI), p2: long(1024, EMOJI), p3: long(1024, EMOJI), cid: 'max' }
  const payload = asciiJson(body)
  assert.deepEqual(JSON.parse(payload), body)
  const closed = closedBy(alice, 10_000).then(() => { throw new Error(`the server closed the connection on a valid send of ${Buffer.byteLength(payload)} bytes`) })
  alice.publish(`chat/${d.id}/2/send`, payload, { qos: 1 })
  const ack = await Promise.race([aliceIn.next((m) => m.payload.cid === 'max', 'the ack of the send at the limits'), closed])
  assert.equal(ack.payload.error, undefined, JSON.stringify(ack.payload.error))
  assert.equal(ack.payload.event.message.message, body.message)
  await bobIn.next((m) => m.payload.message?.message === body.message, 'the message at the limits')
})

test('sends within the limit batched into one WebSocket message (as mqtt.js does in browsers) are all accepted', async (t) => {
  const s = await startServer(t)
  const { d, bobIn } = await pair(s)
  const ws = new WebSocket(s.wsUrl, 'mqtt')
  t.after(() => ws.terminate())
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject) })
  let closeCode: number | null = null
  const wsClosed = new Promise<never>((_resolve, reject) => ws.once('close', (code) => {
    closeCode = code
    reject(new Error(`the server closed the WebSocket with code ${code} on valid packets`))
  }))
  wsClosed.catch(() => {})
  // The server may write one packet in several WebSocket messages: gather the CONNACK's 4 bytes.
  const connack = new Promise<Buffer>((resolve) => {
    let got = Buffer.alloc(0)
    ws.on('message', (data: Buffer) => {
      got = Buffer.concat([got, data])
      if (got.length >= 4) resolve(got.subarray(0, 4))
    })
  })
  ws.send(connectPacket({ username: `${d.id}/4`, password: await s.token(d, 4) }))
  assert.deepEqual(await Promise.race([connack, wsClosed]), CONNACK_ACCEPTED)
  // [MQTT-6.0.0-2] packets need not align with WebSocket messages: one message may carry
  // several. mqtt.js in a browser corks its writes and sends all it wrote in one tick as one.
  const topic = `chat/${d.id}/4/send`
  const packets = ['batched 1', 'batched 2'].map((text) => publishPacket(topic, paddedSend(topic, 40_000, text, 0), 0))
  ws.send(Buffer.concat(packets))
  await Promise.race([bobIn.next(() => bobIn.on(`chat/${d.id}/3/inbox`).length >= 2, 'both batched messages'), wsClosed])
  assert.deepEqual(bobIn.on(`chat/${d.id}/3/inbox`).map((m) => m.payload.message.message), ['batched 1', 'batched 2'])
  assert.equal(closeCode, null)
})

// --- sends ---

const long = (n: number, ch = 'x'): string => ch.repeat(n)
const EMOJI = '😀'

test('every invalid send gets an error ack naming the field, and nothing is stored or delivered', async (t) => {
  const s = await startServer(t, {}, { MQCHAT_USER_RATE: '1000/1s,burst=1000' })
  const { d, alice, aliceIn, bobIn } = await pair(s)
  const ask = requester(d, alice, aliceIn)
  const ok = { to_userid: 3, message: 'hi', type: 0 }
  const cases: Array<[string, string, 'invalid_json' | 'invalid_request', RegExp]> = [
    ['not JSON', 'hello', 'invalid_json', /JSON/],
    ['an empty payload', '', 'invalid_json', /JSON/],
    ['truncated JSON', '{"to_userid":3,"message":"hi"', 'invalid_json', /JSON/],
    ['a JSON array', '[1,2]', 'invalid_request', /payload/],
    ['JSON null', 'null', 'invalid_request', /payload/],
    ['a JSON string', '"hi"', 'invalid_request', /payload/],
    ['a JSON number', '42', 'invalid_request', /payload/]
  ]
  const fields: Array<[string, Record<string, unknown>, RegExp]> = [
    ['type as a string', { ...ok, type: '0' }, /\btype\b/],
    ['type 1.5', { ...ok, type: 1.5 }, /\btype\b/],
    ['type -1', { ...ok, type: -1 }, /\btype\b/],
    ['type 6', { ...ok, type: 6 }, /\btype\b/],
    ['type null', { ...ok, type: null }, /\btype\b/],
    ['type true', { ...ok, type: true }, /\btype\b/],
    ['type missing', { to_userid: 3, message: 'hi' }, /\btype\b/],
    ['message a number', { ...ok, message: 123 }, /\bmessage\b/],
    ['message null', { ...ok, message: null }, /\bmessage\b/],
    ['message an object', { ...ok, message: { text: 'hi' } }, /\bmessage\b/],
    ['message missing', { to_userid: 3, type: 0 }, /\bmessage\b/],
    ['message of 4,097 characters', { ...ok, message: long(4097) }, /\bmessage\b/],
    ['message of 4,097 emoji', { ...ok, message: long(4097, EMOJI) }, /\bmessage\b/],
    ['p1 of 1,025 characters', { ...ok, p1: long(1025) }, /\bp1\b/],
    ['p2 of 1,025 characters', { ...ok, p2: long(1025) }, /\bp2\b/],
    ['p3 of 1,025 emoji', { ...ok, p3: long(1025, EMOJI) }, /\bp3\b/],
    ['p1 a number', { ...ok, p1: 1 }, /\bp1\b/],
    ['p2 null', { ...ok, p2: null }, /\bp2\b/],
    ['p3 an array', { ...ok, p3: ['a'] }, /\bp3\b/],
    ['to_userid missing', { message: 'hi', type: 0 }, /\bto_userid\b/],
    ['to_userid 0', { ...ok, to_userid: 0 }, /\bto_userid\b/],
    ['to_userid -1', { ...ok, to_userid: -1 }, /\bto_userid\b/],
    ['to_userid 2^53', { ...ok, to_userid: 2 ** 53 }, /\bto_userid\b/],
    ['to_userid 1.5', { ...ok, to_userid: 1.5 }, /\bto_userid\b/],
    ['to_userid a string', { ...ok, to_userid: '3' }, /\bto_userid\b/],
    ['to_userid null', { ...ok, to_userid: null }, /\bto_userid\b/],
    ['an unknown extra field', { ...ok, sender: 3 }, /\bsender\b/],
    ['from_userid (only the API may name a sender)', { ...ok, from_userid: 3 }, /\bfrom_userid\b/],
    ['a cid that is an object', { ...ok, cid: { a: 1 } }, /\bcid\b/]
  ]
  for (const [name, payload, code, mentions] of cases) {
    await t.test(`${name} → ${code}`, async () => {
      const ack = await ask('send', payload)
      assertErrorBody({ error: ack.error }, code, name)
      assert.match(ack.error.message, mentions, name)
      assert.deepEqual(Object.keys(ack).sort(), ['cid', 'error'])
    })
  }
  for (const [name, body, mentions] of fields) {
    await t.test(`${name} → invalid_request naming the field`, async () => {
      const cid = `c-${name}`
      const ack = await ask('send', JSON.stringify({ ...body, ...(body.cid === undefined ? { cid } : {}) }), body.cid === undefined ? cid : undefined)
      assertErrorBody({ error: ack.error }, 'invalid_request', name)
      assert.match(ack.error.message, mentions, `${name}: ${ack.error.message}`)
      if (body.cid === undefined) assert.equal(ack.cid, cid)
      assert.equal(ack.event, undefined)
    })
  }

  // The limits themselves are accepted, with characters counted as code points.
  const accepted: Array<[string, Record<string, unknown>]> = [
    ['4,096 characters', { ...ok, message: long(4096) }],
    ['4,096 emoji', { ...ok, message: long(4096, EMOJI) }],
    ['p1–p3 of 1,024 characters each', { ...ok, p1: long(1024), p2: long(1024, EMOJI), p3: long(1024, 'é') }],
    ['type 5', { ...ok, type: 5 }],
    ['an empty message', { ...ok, message: '' }]
  ]
  const expected: Array<Record<string, unknown>> = []
  for (const [name, body] of accepted) {
    await t.test(`a send with ${name} is accepted and stored exactly`, async () => {
      const ack = await ask('send', JSON.stringify({ ...body, cid: name }), name)
      assert.equal(ack.error, undefined, JSON.stringify(ack.error))
      assert.equal(ack.cid, name)
      assert.equal(ack.event.message.message, body.message)
      assert.equal(ack.event.message.type, body.type)
      for (const p of ['p1', 'p2', 'p3']) assert.equal(ack.event.message[p], body[p] ?? '')
      expected.push(body)
    })
  }
  await t.test('only the valid sends reached the recipient and the store', async () => {
    await sendAndDeliver(d, alice, 2, bobIn, 'the last one')
    const inbox = bobIn.on(`chat/${d.id}/3/inbox`).map((m) => m.payload.message.message)
    assert.deepEqual(inbox, [...expected.map((b) => b.message), 'the last one'])
    assert.deepEqual(await stored(s, d), [...expected.map((b) => b.message), 'the last one'])
  })
})

test('a message with a lone surrogate is refused, or stored exactly as it was acknowledged and delivered', async (t) => {
  const s = await startServer(t)
  const { d, alice, aliceIn, bobIn } = await pair(s)
  const ask = requester(d, alice, aliceIn)
  // "\ud800" is valid JSON but not a character: no UTF-8 text can hold it.
  const ack = await ask('send', '{"to_userid":3,"message":"a\\ud800b","type":0,"cid":"lone"}', 'lone')
  if (ack.error !== undefined) {
    assertErrorBody({ error: ack.error }, 'invalid_request', 'a lone surrogate')
    assert.match(ack.error.message, /\bmessage\b/)
    assert.deepEqual(await stored(s, d), [])
    return
  }
  const delivered = await bobIn.next((m) => m.topic.endsWith('/3/inbox'), 'the delivered message')
  assert.equal(delivered.payload.message.message, ack.event.message.message)
  assert.deepEqual(await stored(s, d), [ack.event.message.message], 'what is stored differs from what was acknowledged and delivered')
})

test('unknown topics are dropped without reaching anyone, and the sender keeps its connection', async (t) => {
  const s = await startServer(t)
  const { d, alice, aliceIn, bob, bobIn } = await pair(s)
  const send = JSON.stringify({ to_userid: 3, message: 'via an unknown topic', type: 0 })
  for (const topic of ['foo', `chat/${d.id}/2/unknown`, `chat/${d.id}/2`, `chat/${d.id}/2/send/x`, `chat/${d.id}/2/SEND`, `chat/${d.id}/02/send`, `chat//2/send`, `chat/${d.id}/2/inbox`, `chat/${d.id}/2/ack`, `chat/${d.id}/2/presence`, '/', 'chat']) {
    await alice.publishAsync(topic, send, { qos: 1 })
  }
  await sendAndDeliver(d, alice, 2, bobIn, 'through the right topic')
  assert.deepEqual(bobIn.on(`chat/${d.id}/3/inbox`).map((m) => m.payload.message.message), ['through the right topic'])
  assert.deepEqual(aliceIn.on(`chat/${d.id}/2/inbox`), [])
  assert.deepEqual(await stored(s, d), ['through the right topic'])
  assert.equal(alice.connected && bob.connected, true)
})

test('an invalid status gets an error ack and observers see no presence change', async (t) => {
  const s = await startServer(t)
  const { d, alice, aliceIn, bobIn } = await pair(s)
  await bobIn.next((m) => m.topic === `chat/${d.id}/2/presence` && m.payload.status === 'online', 'alice online')
  const ask = requester(d, alice, aliceIn)
  const cases: Array<[string, string, string, RegExp]> = [
    ['an unknown status', '{"status":"sleeping","cid":"s1"}', 'invalid_request', /status/],
    ['offline (only the server says so)', '{"status":"offline","cid":"s2"}', 'invalid_request', /status/],
    ['a status in capitals', '{"status":"AWAY","cid":"s3"}', 'invalid_request', /status/],
    ['a number', '{"status":1,"cid":"s4"}', 'invalid_request', /status/],
    ['no status', '{"cid":"s5"}', 'invalid_request', /status/],
    ['an extra field', '{"status":"away","mood":"meh","cid":"s6"}', 'invalid_request', /mood/],
    ['not JSON', 'away', 'invalid_json', /JSON/],
    ['an empty payload', '', 'invalid_json', /JSON/]
  ]
  for (const [name, payload, code, mentions] of cases) {
    const cid = /"cid":"(s\d)"/.exec(payload)?.[1]
    const ack = await ask('status', payload, cid)
    assertErrorBody({ error: ack.error }, code, name)
    assert.match(ack.error.message, mentions, name)
    if (cid !== undefined) assert.equal(ack.cid, cid, name)
  }
  // A valid change now: it is the only change observers see.
  await alice.publishAsync(`chat/${d.id}/2/status`, '{"status":"busy"}', { qos: 1 })
  await bobIn.next((m) => m.topic === `chat/${d.id}/2/presence` && m.payload.status === 'busy', 'alice busy')
  const statuses = bobIn.on(`chat/${d.id}/2/presence`).map((m) => m.payload.status)
  assert.deepEqual(statuses.filter((x, i) => x !== statuses[i - 1]), ['online', 'busy'])
  const presence = await s.api('GET', `/api/v1/domains/${d.id}/presence`, undefined, d.apiKey)
  assert.deepEqual(presence.body.users.find((u: { userid: number }) => u.userid === 2).status, 'busy')
})

test('an invalid history request gets an error ack naming the problem', async (t) => {
  const s = await startServer(t)
  const { d, alice, aliceIn, bobIn } = await pair(s)
  await sendAndDeliver(d, alice, 2, bobIn, 'one')
  await aliceIn.next((m) => m.topic.endsWith('/ack') && m.payload.event !== undefined, 'the ack of the send')
  const ask = requester(d, alice, aliceIn)
  const cases: Array<[string, Record<string, unknown> | string, string, RegExp]> = [
    ['limit 0', { peer: 3, limit: 0 }, 'invalid_request', /limit/],
    ['limit 501', { peer: 3, limit: 501 }, 'invalid_request', /limit/],
    ['limit 1.5', { limit: 1.5 }, 'invalid_request', /limit/],
    ['limit as a string', { limit: '10' }, 'invalid_request', /limit/],
    ['before and after together', { before: 10, after: 1 }, 'invalid_request', /before|after/],
    ['a negative before', { peer: 3, before: -5 }, 'invalid_request', /before/],
    ['a negative after', { after: -1 }, 'invalid_request', /after/],
    ['an after over 2^53', { after: 2 ** 53 }, 'invalid_request', /after/],
    ['peer 0', { peer: 0 }, 'invalid_request', /peer/],
    ['peer as a string', { peer: '3' }, 'invalid_request', /peer/],
    ['an unknown field', { peer: 3, userid: 3 }, 'invalid_request', /userid/],
    ['not JSON', 'give me everything', 'invalid_json', /JSON/],
    ['a JSON array', '[]', 'invalid_request', /payload/]
  ]
  for (const [name, body, code, mentions] of cases) {
    const cid = `h-${name}`
    const ack = await ask('history', typeof body === 'string' ? body : JSON.stringify({ ...body, cid }), typeof body === 'string' ? undefined : cid)
    assertErrorBody({ error: ack.error }, code, `${name}: the ack ${JSON.stringify(ack)}`)
    assert.match(ack.error.message, mentions, `${name}: ${ack.error.message}`)
    assert.equal(ack.messages, undefined, name)
    if (typeof body !== 'string' && body !== null) assert.equal(ack.cid, cid)
  }
  // The limits themselves are fine.
  const ok = await ask('history', JSON.stringify({ peer: 3, limit: 500, cid: 'max' }), 'max')
  assert.deepEqual(ok.messages.map((m: { message: { message: string } }) => m.message.message), ['one'])
  const caughtUp = await ask('history', JSON.stringify({ after: 0, limit: 1, cid: 'min' }), 'min')
  assert.deepEqual(caughtUp.messages.map((m: { message: { message: string } }) => m.message.message), ['one'])
})

test('a user over its rate gets rate_limited, the send is not stored, and other users are not limited', async (t) => {
  const s = await startServer(t, {}, { MQCHAT_USER_RATE: '5/1s,burst=5' })
  const { d, alice, aliceIn, bobIn } = await pair(s)
  const ackTopic = `chat/${d.id}/2/ack`
  // Six at once: the bucket holds five.
  await Promise.all(Array.from({ length: 6 }, (_, i) =>
    alice.publishAsync(`chat/${d.id}/2/send`, JSON.stringify({ to_userid: 3, message: `burst ${i}`, type: 0, cid: `r${i}` }), { qos: 1 })))
  await aliceIn.next(() => aliceIn.on(ackTopic).length >= 6, 'six acks')
  const acks = aliceIn.on(ackTopic).map((m) => m.payload)
  const limited = acks.filter((a) => a.error !== undefined)
  assert.equal(limited.length, 1, JSON.stringify(acks))
  assert.equal(limited[0].cid, 'r5')
  assertErrorBody({ error: limited[0].error }, 'rate_limited', 'the sixth send')
  assert.deepEqual(acks.filter((a) => a.event !== undefined).map((a) => a.cid).sort(), ['r0', 'r1', 'r2', 'r3', 'r4'])

  // Another user of the same domain is not limited.
  const carol = await s.connect(d, 5)
  await sendAndDeliver(d, carol, 5, bobIn, 'carol is not limited')
  const delivered = bobIn.on(`chat/${d.id}/3/inbox`).map((m) => m.payload.message.message)
  assert.deepEqual(delivered.sort(), ['burst 0', 'burst 1', 'burst 2', 'burst 3', 'burst 4', 'carol is not limited'].sort())
  assert.deepEqual((await stored(s, d)).sort(), ['burst 0', 'burst 1', 'burst 2', 'burst 3', 'burst 4', 'carol is not limited'].sort())
  // The REST API (the customer's server) is not limited either.
  const fromServer = await s.api('POST', `/api/v1/domains/${d.id}/messages`, { from_userid: 2, to_userid: 3, message: 'from the server', type: 0 }, d.apiKey)
  assert.equal(fromServer.status, 201)
})

// --- REST ---

async function request (s: TestServer, method: string, path: string, opts: { body?: string, contentType?: string, key?: string } = {}): Promise<{ status: number, body: any }> {
  const headers: Record<string, string> = { authorization: `Bearer ${opts.key ?? s.operatorKey}` }
  if (opts.contentType !== undefined) headers['content-type'] = opts.contentType
  const res = await fetch(s.httpUrl + path, { method, headers, body: opts.body })
  const text = await res.text()
  let body: unknown = text
  try { body = JSON.parse(text) } catch {}
  return { status: res.status, body }
}

test('bad REST bodies, paths and query strings get 400, 413 or 415 with a clear error', async (t) => {
  const s = await startServer(t)
  const d = await s.domain()
  const base = `/api/v1/domains/${d.id}`
  const cases: Array<[string, string, string, { body?: string, contentType?: string }, number, string, RegExp?]> = [
    ['a body that is not JSON', 'POST', `${base}/messages`, { body: '{"from_userid":', contentType: 'application/json' }, 400, 'invalid_json'],
    ['a body that is text', 'POST', '/api/v1/domains', { body: 'id=x&name=y', contentType: 'application/json' }, 400, 'invalid_json'],
    ['a body with __proto__', 'POST', '/api/v1/domains', { body: '{"id":"proto","name":"p","__proto__":{"admin":true}}', contentType: 'application/json' }, 400, 'invalid_request', /__proto__/],
    ['type as a string', 'POST', `${base}/messages`, { body: JSON.stringify({ from_userid: 2, to_userid: 3, message: 'x', type: '0' }), contentType: 'application/json' }, 400, 'invalid_request', /body.type/],
    ['type 6', 'POST', `${base}/messages`, { body: JSON.stringify({ from_userid: 2, to_userid: 3, message: 'x', type: 6 }), contentType: 'application/json' }, 400, 'invalid_request', /body.type/],
    ['from_userid missing', 'POST', `${base}/messages`, { body: JSON.stringify({ to_userid: 3, message: 'x', type: 0 }), contentType: 'application/json' }, 400, 'invalid_request', /from_userid/],
    ['to_userid 2^53', 'POST', `${base}/messages`, { body: JSON.stringify({ from_userid: 2, to_userid: 2 ** 53, message: 'x', type: 0 }), contentType: 'application/json' }, 400, 'invalid_request', /body.to_userid/],
    ['a message of 4,097 characters', 'POST', `${base}/messages`, { body: JSON.stringify({ from_userid: 2, to_userid: 3, message: long(4097), type: 0 }), contentType: 'application/json' }, 400, 'invalid_request', /body.message/],
    ['an unknown field in a send', 'POST', `${base}/messages`, { body: JSON.stringify({ from_userid: 2, to_userid: 3, message: 'x', type: 0, cid: 'c' }), contentType: 'application/json' }, 400, 'invalid_request', /cid/],
    ['a JSON array as a send', 'POST', `${base}/messages`, { body: '[]', contentType: 'application/json' }, 400, 'invalid_request', /body/],
    ['no body for a send', 'POST', `${base}/messages`, { body: '', contentType: 'application/json' }, 400, 'invalid_request', /body/],
    ['ttlSeconds as a string', 'POST', `${base}/users/1/token`, { body: '{"ttlSeconds":"60"}', contentType: 'application/json' }, 400, 'invalid_request', /ttlSeconds/],
    ['ttlSeconds 0', 'POST', `${base}/users/1/token`, { body: '{"ttlSeconds":0}', contentType: 'application/json' }, 400, 'invalid_request', /ttlSeconds/],
    ['ttlSeconds over a year', 'POST', `${base}/users/1/token`, { body: '{"ttlSeconds":31536001}', contentType: 'application/json' }, 400, 'invalid_request', /ttlSeconds/],
    ['an unknown field in a token request', 'POST', `${base}/users/1/token`, { body: '{"ttl":60}', contentType: 'application/json' }, 400, 'invalid_request', /ttl/],
    ['a domain id that breaks the pattern', 'POST', '/api/v1/domains', { body: '{"id":"Not Valid","name":"x"}', contentType: 'application/json' }, 400, 'invalid_request', /id/],
    ['a domain without a name', 'POST', '/api/v1/domains', { body: '{"id":"noname"}', contentType: 'application/json' }, 400, 'invalid_request', /name/],
    ['a huge userid in the path', 'POST', `${base}/users/99999999999999999999/token`, {}, 400, 'invalid_request', /userid/],
    ['userid 2^53 in the path', 'POST', `${base}/users/9007199254740992/token`, {}, 400, 'invalid_request', /userid/],
    ['a negative userid in the path', 'POST', `${base}/users/-1/token`, {}, 400, 'invalid_request', /userid/],
    ['userid 0 in the path', 'POST', `${base}/users/0/token`, {}, 400, 'invalid_request', /userid/],
    ['a fractional userid in the path', 'POST', `${base}/users/1.5/token`, {}, 400, 'invalid_request', /userid/],
    ['a userid that is not a number', 'POST', `${base}/users/abc/token`, {}, 400, 'invalid_request', /userid/],
    ['a negative before', 'GET', `${base}/messages?before=-5`, {}, 400, 'invalid_request', /before/],
    ['a huge before', 'GET', `${base}/messages?before=99999999999999999999`, {}, 400, 'invalid_request', /before/],
    ['limit 100000', 'GET', `${base}/messages?limit=100000`, {}, 400, 'invalid_request', /limit/],
    ['limit 0', 'GET', `${base}/messages?limit=0`, {}, 400, 'invalid_request', /limit/],
    ['limit abc', 'GET', `${base}/messages?limit=abc`, {}, 400, 'invalid_request', /limit/],
    ['a huge userid in the query', 'GET', `${base}/messages?userid=99999999999999999999`, {}, 400, 'invalid_request', /userid/],
    ['peer without userid', 'GET', `${base}/messages?peer=3`, {}, 400, 'invalid_request', /peer/],
    ['before and after together', 'GET', `${base}/messages?before=5&after=1`, {}, 400, 'invalid_request', /before|after/],
    ['an unknown query parameter', 'GET', `${base}/messages?user=2`, {}, 400, 'invalid_request', /user/],
    ['an unknown presence status', 'GET', `${base}/presence?status=sleeping`, {}, 400, 'invalid_request', /status/],
    ['an unknown callback kind', 'GET', `${base}/callbacks/everything`, {}, 400, 'invalid_request', /kind/],
    ['a body over the size limit', 'POST', `${base}/messages`, { body: JSON.stringify({ from_userid: 2, to_userid: 3, message: long(300 * 1024), type: 0 }), contentType: 'application/json' }, 413, 'payload_too_large'],
    ['a text/plain body', 'POST', `${base}/messages`, { body: 'hello', contentType: 'text/plain' }, 415, 'unsupported_media_type'],
    ['a form body', 'POST', `${base}/users/1/token`, { body: 'ttlSeconds=60', contentType: 'application/x-www-form-urlencoded' }, 415, 'unsupported_media_type'],
    ['an unknown route', 'GET', '/api/v1/nothing-here', {}, 404, 'not_found']
  ]
  for (const [name, method, path, opts, status, code, mentions] of cases) {
    await t.test(`${name} → ${status} ${code}`, async () => {
      const r = await request(s, method, path, { ...opts, key: d.apiKey })
      assert.equal(r.status, status, `${name}: ${JSON.stringify(r.body)}`)
      assertErrorBody(r.body, code, name)
      if (mentions !== undefined) assert.match(r.body.error.message, mentions, `${name}: ${r.body.error.message}`)
    })
  }
  await t.test('none of it stored a message or created a domain, and the server still serves', async () => {
    assert.deepEqual(await stored(s, d), [])
    const domains = await s.api('GET', '/api/v1/domains')
    assert.deepEqual(domains.body.domains.map((x: { id: string }) => x.id), [d.id])
    await stillServing(s)
  })
})

test('after a flood of bad input on every channel the server is healthy and users still chat', async (t) => {
  const s = await startServer(t, {}, { MQCHAT_USER_RATE: '1000/1s,burst=1000' })
  const { d, alice, aliceIn, bobIn } = await pair(s, { ws: true })
  const ask = requester(d, alice, aliceIn)
  const bad = await Promise.all(Array.from({ length: 20 }, async (_, i) => {
    const raw = await rawConnection(t, s.app.mqttPort)
    raw.write(i % 2 === 0 ? Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0x7f]) : Buffer.from(`garbage ${i}\r\n`))
    return raw
  }))
  const restCalls = Array.from({ length: 20 }, (_, i) => request(s, 'POST', `/api/v1/domains/${d.id}/messages`, { body: `{"bad":${i}`, contentType: 'application/json', key: d.apiKey }))
  for (let i = 0; i < 20; i++) {
    const ack = await ask('send', i % 2 === 0 ? `not json ${i}` : JSON.stringify({ to_userid: -i, message: 'x', type: 0 }))
    assert.ok(ack.error !== undefined)
  }
  for (const r of await Promise.all(restCalls)) assert.equal(r.status, 400)
  await Promise.all(bad.map((raw) => raw.closed()))
  await sendAndDeliver(d, alice, 2, bobIn, 'alive after the flood')
  assert.deepEqual(await stored(s, d), ['alive after the flood'])
  await stillServing(s)
  const otherPair = await pair(s)
  await sendAndDeliver(otherPair.d, otherPair.alice, 2, otherPair.bobIn, 'a second domain too')
})

