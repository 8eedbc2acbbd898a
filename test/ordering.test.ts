// A send made right after connecting gets its `ack`, whether the client writes SUBSCRIBE
// before PUBLISH (MQTT 3.1.1 §4.6: a client's packets take effect in order) or, as mqtt.js
// does when both are asked for before the CONNACK, writes the PUBLISH first and subscribes
// only once it is acknowledged (src/broker/held-answers.ts).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import mqtt from 'mqtt'
import WebSocket from 'ws'
import { connectPacket, rawConnection, remainingLength } from './helpers/mqtt.ts'
import { packets, PUBLISH, publishOf, publishPacketBytes, subscribePacket } from './helpers/packets.ts'
import { Inbox, startServer } from './helpers/server.ts'
import { waitFor } from './helpers/wait.ts'
import { HeldAnswers, HOLD_ANSWERS_MAX_BYTES, HOLD_ANSWERS_MS, holdAnswer, takeAnswers, type Holder } from '../src/broker/held-answers.ts'

const RUNS = 10

for (const transport of ['TCP', 'WebSocket'] as const) {
  test(`CONNECT, SUBSCRIBE to the ack and a send written in one burst: the ack arrives, every time (${transport})`, async (t) => {
    const s = await startServer(t)
    const d = await s.domain()
    for (let i = 0; i < RUNS; i++) {
      const burst = Buffer.concat([
        connectPacket({ username: `${d.id}/2`, password: await s.token(d, 2) }),
        subscribePacket([`chat/${d.id}/2/ack`], 1),
        publishPacketBytes(`chat/${d.id}/2/send`, JSON.stringify({ to_userid: 3, message: `m${i}`, type: 0, cid: `c${i}` }), 2)
      ])
      let received = (): Buffer => Buffer.alloc(0)
      if (transport === 'TCP') {
        const raw = await rawConnection(t, s.app.mqttPort)
        raw.write(burst)
        received = () => raw.received
      } else {
        const ws = new WebSocket(s.wsUrl, 'mqtt')
        t.after(() => ws.terminate())
        const chunks: Buffer[] = []
        ws.on('message', (b: Buffer) => chunks.push(b))
        await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) })
        ws.send(burst) // one WebSocket message, as mqtt.js writes one tick's packets in a browser
        received = () => Buffer.concat(chunks)
      }
      const ack = await waitFor(() => packets(received()).filter((p) => p.type === PUBLISH).map(publishOf).find((p) => p.topic === `chat/${d.id}/2/ack`),
        `the ack of run ${i + 1} of ${RUNS}`)
      const body = JSON.parse(ack.payload.toString())
      assert.equal(body.cid, `c${i}`)
      assert.equal(body.event.message.message, `m${i}`)
    }
  })
}

for (const transport of ['TCP', 'WebSocket'] as const) {
  test(`mqtt.js: connect, subscribe to the ack and send at once, as the snippet of docs/client.md does: the ack arrives, every time (${transport})`, async (t) => {
    const s = await startServer(t)
    const d = await s.domain()
    for (let i = 0; i < RUNS; i++) {
      const password = await s.token(d, 2)
      // Not connectAsync: subscribe and publish are asked for before the CONNACK.
      const c = mqtt.connect(transport === 'TCP' ? s.mqttUrl : s.wsUrl, { username: `${d.id}/2`, password, reconnectPeriod: 0, connectTimeout: 5000 })
      t.after(() => c.end(true))
      const inbox = new Inbox(c)
      c.subscribe(`chat/${d.id}/2/ack`, { qos: 1 })
      c.publish(`chat/${d.id}/2/send`, JSON.stringify({ to_userid: 3, message: `m${i}`, type: 0, cid: `c${i}` }), { qos: 1 })
      const ack = await inbox.next((m) => m.topic === `chat/${d.id}/2/ack`, `the ack of run ${i + 1} of ${RUNS}`)
      assert.equal(ack.payload.cid, `c${i}`)
      assert.equal(ack.payload.event.message.message, `m${i}`)
      await c.endAsync(true)
      assert.equal(inbox.on(`chat/${d.id}/2/ack`).length, 1, 'the ack arrives once')
    }
  })
}

test('answers held for a connection that subscribes to its ack late come first and once; another tab gets each answer live, once', async (t) => {
  const s = await startServer(t)
  const d = await s.domain()
  // Another connection of the same user, subscribed all along, gets each answer once, live.
  const tab = await s.connect(d, 2)
  const tabIn = new Inbox(tab)
  await tab.subscribeAsync(`chat/${d.id}/2/ack`, { qos: 1 })
  const c = await s.connect(d, 2)
  const cIn = new Inbox(c)
  await c.publishAsync(`chat/${d.id}/2/send`, JSON.stringify({ to_userid: 3, message: 'early', type: 0, cid: 'early' }), { qos: 1 })
  await tabIn.next((m) => m.payload.cid === 'early', 'the early ack on the other tab')
  await c.subscribeAsync(`chat/${d.id}/2/ack`, { qos: 1 })
  await c.publishAsync(`chat/${d.id}/2/send`, JSON.stringify({ to_userid: 3, message: 'late', type: 0, cid: 'late' }), { qos: 1 })
  await cIn.next((m) => m.payload.cid === 'late', 'the late ack')
  await tabIn.next((m) => m.payload.cid === 'late', 'the late ack on the other tab')
  assert.deepEqual(cIn.on(`chat/${d.id}/2/ack`).map((m) => m.payload.cid), ['early', 'late'], 'the held answer first, then the live one, each once')
  assert.deepEqual(tabIn.on(`chat/${d.id}/2/ack`).map((m) => m.payload.cid), ['early', 'late'])
})

test('held answers: kept within the window and the byte budget, handed over once, nothing kept afterwards', () => {
  const held = new HeldAnswers(0)
  assert.equal(held.hold('a', 1), true)
  assert.equal(held.hold('x'.repeat(HOLD_ANSWERS_MAX_BYTES), 2), false, 'over the byte budget')
  assert.equal(held.hold('b', HOLD_ANSWERS_MS - 1), true)
  assert.deepEqual(held.take(), ['a', 'b'])
  assert.equal(held.hold('c', 3), false, 'the connection receives its answers itself now')
  assert.deepEqual(held.take(), [])
  const late = new HeldAnswers(0)
  assert.equal(late.hold('a', 1), true)
  assert.equal(late.hold('b', HOLD_ANSWERS_MS + 1), false, 'past the window')
  assert.deepEqual(late.take(), [], 'what was kept is dropped with the window')
})

test('held answers of a connection: nothing made until one is kept, none kept once it takes them or past the window', () => {
  const idle: Holder = { mqConnectedMs: 0 }
  assert.deepEqual(takeAnswers(idle), [])
  holdAnswer(idle, 'a', 1)
  assert.equal(idle.mqHeld, undefined, 'it receives its answers itself now')
  const c: Holder = { mqConnectedMs: 0 }
  holdAnswer(c, 'a', 1)
  holdAnswer(c, 'b', 2)
  assert.deepEqual(takeAnswers(c), ['a', 'b'])
  assert.equal(c.mqHeld, undefined)
  const late: Holder = { mqConnectedMs: 0 }
  holdAnswer(late, 'a', HOLD_ANSWERS_MS)
  assert.equal(late.mqHeld, undefined, 'past the window nothing is made')
  assert.deepEqual(takeAnswers(late), [])
  const never: Holder = {}
  holdAnswer(never, 'a', 1)
  assert.equal(never.mqHeld, undefined, 'a connection not accepted keeps nothing')
})

test('over WebSocket each packet the server sends is one frame, not one per piece', async (t) => {
  const s = await startServer(t)
  const d = await s.domain()
  const ws = new WebSocket(s.wsUrl, 'mqtt')
  t.after(() => ws.terminate())
  const frames: Buffer[] = []
  ws.on('message', (b: Buffer) => frames.push(b))
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) })
  ws.send(Buffer.concat([
    connectPacket({ username: `${d.id}/2`, password: await s.token(d, 2) }),
    subscribePacket([`chat/${d.id}/2/ack`], 1),
    publishPacketBytes(`chat/${d.id}/2/send`, JSON.stringify({ to_userid: 3, message: 'one frame', type: 0, cid: 'f' }), 2)
  ]))
  await waitFor(() => packets(Buffer.concat(frames)).some((p) => p.type === PUBLISH), 'the ack')
  // every frame holds whole packets: the first byte of each is a packet's first
  const size = (p: { body: Buffer }) => 1 + remainingLength(p.body.length).length + p.body.length
  for (const f of frames) {
    const whole = packets(f)
    assert.ok(whole.length >= 1 && whole.reduce((n, p) => n + size(p), 0) === f.length, `a frame of whole packets: ${f.toString('hex')}`)
  }
})
