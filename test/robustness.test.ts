// What a hostile or unlucky client can do to the server, and must not get away with.
import assert from 'node:assert/strict'
import net from 'node:net'
import { test } from 'node:test'
import { connectPacket } from './helpers/mqtt.ts'
import { Inbox, startServer } from './helpers/server.ts'
import { waitFor } from './helpers/wait.ts'

test('a WebSocket upgrade on another path that the client then resets does not bring the server down', async (t) => {
  const s = await startServer(t)
  for (const path of ['/', '/nope', '/api/v1/domains']) {
    const sock = net.connect(s.app.httpPort, '127.0.0.1')
    await new Promise((resolve) => sock.once('connect', resolve))
    sock.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`)
    sock.resetAndDestroy()
    await new Promise((resolve) => sock.once('close', resolve))
  }
  assert.equal((await fetch(`${s.httpUrl}/healthz`)).status, 200)
})

test('a connection taking over a client id while the old one closes never leaves the user online', async (t) => {
  const s = await startServer(t, {}, { MQCHAT_PRESENCE_GRACE_MS: '0' })
  const d = await s.domain()
  const packet = connectPacket({ clientId: 'same-id', username: `${d.id}/5`, password: await s.token(d, 5) })
  const open = async (): Promise<net.Socket> => {
    const sock = net.connect(s.app.mqttPort, '127.0.0.1')
    sock.on('error', () => {})
    await new Promise((resolve) => sock.once('connect', resolve))
    return sock
  }
  // SUBSCRIBE to the user's own inbox (packet id 1, QoS 1), as every real client does: the
  // old connection's unsubscribing is what gives the new one time to slip through.
  const topic = Buffer.from(`chat/${d.id}/5/inbox`)
  const subscribe = Buffer.concat([Buffer.from([0x82, 2 + 2 + topic.length + 1, 0, 1, 0, topic.length]), topic, Buffer.from([1])])
  for (let i = 0; i < 15; i++) {
    const a = await open()
    a.write(packet)
    await new Promise((resolve) => a.once('data', resolve)) // CONNACK
    a.write(subscribe)
    await new Promise((resolve) => a.once('data', resolve)) // SUBACK
    const b = await open()
    b.write(packet)
    setImmediate(() => b.destroy()) // gone before aedes has finished closing a
    await new Promise((resolve) => b.once('close', resolve))
    // The race under test is aedes's: give its takeover of the client id time to run
    // before the old socket goes too.
    await new Promise((resolve) => setTimeout(resolve, 30))
    a.destroy()
    await waitFor(async () => (await s.app.store.getPresence(d.id, 5))?.status === 'offline' && s.app.broker.connections === 0,
      `user 5 offline and no connection counted after round ${i}`)
  }
})

test('status changes, history pages and whole-domain presence subscriptions are rate-limited like sends', async (t) => {
  const s = await startServer(t, {}, { MQCHAT_USER_RATE: '3/1m,burst=3' })
  const d = await s.domain()
  const c = await s.connect(d, 1)
  const acks = new Inbox(c)
  await c.subscribeAsync(`chat/${d.id}/1/ack`, { qos: 1 })
  for (let i = 0; i < 5; i++) await c.publishAsync(`chat/${d.id}/1/status`, JSON.stringify({ status: i % 2 === 0 ? 'away' : 'busy', cid: `s${i}` }), { qos: 1 })
  for (let i = 0; i < 5; i++) await c.publishAsync(`chat/${d.id}/1/history`, JSON.stringify({ after: 0, cid: `h${i}` }), { qos: 1 })
  await acks.next(() => acks.received.filter((m) => m.payload.error?.code === 'rate_limited').length === 4, 'two refusals each')
  assert.deepEqual(acks.received.filter((m) => m.payload.error?.code === 'rate_limited').map((m) => m.payload.cid).sort(), ['h3', 'h4', 's3', 's4'])
  // status changes are written after their publish is read: wait for the three allowed ones
  const stored = async () => (await s.app.store.listEvents(d.id, 'presence', 0, 100)).map((e) => JSON.parse(e.body).status)
  await waitFor(async () => (await stored()).length >= 4, 'the allowed status changes stored')
  assert.deepEqual(await stored(), ['online', 'away', 'busy', 'away'], 'only the allowed changes were stored')
  // whole-domain presence: three subscriptions, then SUBACK 0x80
  const granted: number[] = []
  for (let i = 0; i < 4; i++) {
    try {
      granted.push((await c.subscribeAsync(`chat/${d.id}/+/presence`, { qos: 1 }))[0]!.qos)
      await c.unsubscribeAsync(`chat/${d.id}/+/presence`)
    } catch (err) {
      granted.push((err as { packet?: { granted: number[] } }).packet!.granted[0]!)
    }
  }
  assert.deepEqual(granted, [1, 1, 1, 128])
})

test('a history answer stays under 1 MiB however large the messages: the client pages on', async (t) => {
  const s = await startServer(t)
  const d = await s.domain()
  const big = 'x'.repeat(4096)
  for (let i = 0; i < 300; i++) {
    await s.api('POST', `/api/v1/domains/${d.id}/messages`, { from_userid: 1, to_userid: 2, message: big, type: 0, p1: big.slice(0, 1024), p2: big.slice(0, 1024), p3: big.slice(0, 1024) }, d.apiKey)
  }
  const c = await s.connect(d, 1)
  const acks = new Inbox(c)
  await c.subscribeAsync(`chat/${d.id}/1/ack`, { qos: 1 })
  await c.publishAsync(`chat/${d.id}/1/history`, JSON.stringify({ after: 0, limit: 500, cid: 'all' }), { qos: 1 })
  const ack = await acks.next((m) => m.payload.cid === 'all', 'the history answer')
  const size = Buffer.byteLength(JSON.stringify(ack.payload))
  assert.ok(size <= 1024 * 1024 + 1024, `answer of ${size} bytes`)
  assert.ok(ack.payload.messages.length > 100 && ack.payload.messages.length < 300, `${ack.payload.messages.length} messages`)
  const ids = ack.payload.messages.map((m: any) => m.message.id)
  assert.deepEqual(ids, [...ids].sort((a, b) => a - b), 'oldest first, so the client pages on with after=<last id>')
})
