import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Inbox, startServer } from './helpers/server.ts'

test('a message sent over MQTT is stored, delivered to the inbox and acked with the same event', async (t) => {
  const s = await startServer(t)
  const d = await s.domain()
  const alice = await s.connect(d, 2)
  const bob = await s.connect(d, 3601)
  const aliceIn = new Inbox(alice)
  const bobIn = new Inbox(bob)
  await alice.subscribeAsync(`chat/${d.id}/2/ack`, { qos: 1 })
  await bob.subscribeAsync(`chat/${d.id}/3601/inbox`, { qos: 1 })

  await alice.publishAsync(`chat/${d.id}/2/send`, JSON.stringify({ to_userid: 3601, message: 'ok', type: 0, p1: '', p2: '', p3: '', cid: 'c-1' }), { qos: 1 })
  const ack = await aliceIn.next((m) => m.topic.endsWith('/ack'), 'the ack')
  const delivered = await bobIn.next((m) => m.topic.endsWith('/inbox'), 'the inbox message')

  assert.equal(ack.payload.cid, 'c-1')
  const ev = ack.payload.event
  assert.deepEqual(Object.keys(ev), ['from_userid', 'message', 'to_userid'])
  assert.deepEqual(Object.keys(ev.message), ['id', 'message', 'p1', 'p2', 'p3', 'timestamp', 'type'])
  assert.equal(ev.from_userid, 2)
  assert.equal(ev.to_userid, 3601)
  assert.equal(ev.message.message, 'ok')
  assert.equal(typeof ev.message.id, 'number')
  assert.ok(Math.abs(ev.message.timestamp - Date.now() / 1000) < 5)
  assert.deepEqual(delivered.payload, ev)

  const hist = await s.api('GET', `/api/v1/domains/${d.id}/messages?userid=2&peer=3601`, undefined, d.apiKey)
  assert.equal(hist.status, 200)
  assert.deepEqual(hist.body.messages, [ev])
})

test('messages of one sender keep their order and get increasing ids', async (t) => {
  const s = await startServer(t, {}, { MQCHAT_USER_RATE: '1000/1s,burst=1000' })
  const d = await s.domain()
  const alice = await s.connect(d, 2)
  const bob = await s.connect(d, 3)
  const bobIn = new Inbox(bob)
  await bob.subscribeAsync(`chat/${d.id}/3/inbox`, { qos: 1 })
  const N = 200
  await Promise.all(Array.from({ length: N }, (_, i) =>
    alice.publishAsync(`chat/${d.id}/2/send`, JSON.stringify({ to_userid: 3, message: `m${i}`, type: 0 }), { qos: 1 })))
  await bobIn.next(() => bobIn.received.length >= N, `${N} messages`)
  const texts = bobIn.received.map((m) => m.payload.message.message)
  assert.deepEqual(texts, Array.from({ length: N }, (_, i) => `m${i}`))
  const ids = bobIn.received.map((m) => m.payload.message.id)
  for (let i = 1; i < ids.length; i++) assert.ok(ids[i] > ids[i - 1], `id ${ids[i]} after ${ids[i - 1]}`)
})
