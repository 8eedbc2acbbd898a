// SPEC §3: one connection holds at most 1,000 subscriptions; beyond, SUBACK failure.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import v8 from 'node:v8'
import vm from 'node:vm'
import { MAX_SUBSCRIPTIONS } from '../src/broker/index.ts'
import { connectPacket, rawConnection, subackCodes } from './helpers/mqtt.ts'
import { packets, SUBACK, subscribePacket } from './helpers/packets.ts'
import { Inbox, startServer } from './helpers/server.ts'
import { waitFor } from './helpers/wait.ts'

const GRANTED_QOS_1 = 1
const SUBACK_FAILURE = 0x80

test('a connection gets 1,000 subscriptions; the next one gets SUBACK 0x80 and the connection keeps working', async (t) => {
  assert.equal(MAX_SUBSCRIPTIONS, 1000)
  const s = await startServer(t)
  const d = await s.domain()
  const c = await s.connect(d, 2)
  const own = [`chat/${d.id}/2/ack`, `chat/${d.id}/2/inbox`, `chat/${d.id}/+/presence`]
  assert.deepEqual(await subackCodes(c, own), [1, 1, 1])
  const presences = Array.from({ length: MAX_SUBSCRIPTIONS - own.length }, (_, i) => `chat/${d.id}/${i + 10}/presence`)
  for (let i = 0; i < presences.length; i += 250) {
    const codes = await subackCodes(c, presences.slice(i, i + 250))
    assert.ok(codes.every((q) => q === GRANTED_QOS_1), `filters ${i}… granted`)
  }
  assert.deepEqual(await subackCodes(c, [`chat/${d.id}/5000/presence`]), [SUBACK_FAILURE], 'the 1,001st is refused')
  assert.deepEqual(await subackCodes(c, [presences[0]!, `chat/${d.id}/2/ack`]), [1, 1], 'subscribing again to a held filter takes no new place')
  await c.unsubscribeAsync(presences[0]!)
  assert.deepEqual(await subackCodes(c, [`chat/${d.id}/5000/presence`]), [1], 'an unsubscribe frees a place')
  assert.deepEqual(await subackCodes(c, [`chat/${d.id}/5001/presence`]), [SUBACK_FAILURE])

  // Still connected and served.
  const inbox = new Inbox(c)
  await c.publishAsync(`chat/${d.id}/2/send`, JSON.stringify({ to_userid: 3, message: 'still here', type: 0, cid: 'x' }), { qos: 1 })
  const ack = await inbox.next((m) => m.topic === `chat/${d.id}/2/ack`, 'the ack')
  assert.equal(ack.payload.event.message.message, 'still here')
  // A second connection of the same user has its own 1,000.
  const other = await s.connect(d, 2)
  assert.deepEqual(await subackCodes(other, [`chat/${d.id}/5001/presence`]), [1])
})

test('60 SUBSCRIBE packets of 4,000 filters: 1,000 granted, the rest 0x80, and memory stays flat', async (t) => {
  const s = await startServer(t)
  // A one-letter domain keeps 4,000 filters under the 128 KiB packet limit.
  const d = await s.domain('x')
  v8.setFlagsFromString('--expose-gc')
  const gc = vm.runInNewContext('gc') as () => void
  const heap = (): number => { gc(); gc(); return process.memoryUsage().heapUsed }
  const raw = await rawConnection(t, s.app.mqttPort)
  raw.write(connectPacket({ username: `${d.id}/2`, password: await s.token(d, 2) }))
  await raw.bytes(4)
  const before = heap()
  const PACKETS = 60
  const FILTERS = 4000
  for (let p = 0; p < PACKETS; p++) {
    const filters = Array.from({ length: FILTERS }, (_, i) => `chat/${d.id}/${p * FILTERS + i + 1}/presence`)
    raw.write(subscribePacket(filters, p + 1))
  }
  const subacks = await waitFor(() => {
    const got = packets(raw.received).filter((q) => q.type === SUBACK)
    return got.length === PACKETS ? got : null
  }, `${PACKETS} SUBACKs`, 60_000)
  const codes = subacks.flatMap((q) => [...q.body.subarray(2)])
  assert.equal(codes.length, PACKETS * FILTERS, 'one code per filter')
  assert.equal(codes.filter((q) => q === GRANTED_QOS_1).length, MAX_SUBSCRIPTIONS)
  assert.equal(codes.filter((q) => q === SUBACK_FAILURE).length, PACKETS * FILTERS - MAX_SUBSCRIPTIONS)
  assert.equal(raw.isClosed, false, 'the connection stays open')
  const grownMb = (heap() - before) / 1e6
  t.diagnostic(`heap grew by ${grownMb.toFixed(1)} MB`)
  // Unbounded, the 240,000 subscriptions took over 200 MB until the disconnect.
  assert.ok(grownMb < 20, `heap grew by ${grownMb.toFixed(1)} MB`)
})
