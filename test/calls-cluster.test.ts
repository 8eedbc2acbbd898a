// Calls across nodes (SPEC §6, §10.2): the caller on one node, the callee on another. The
// signals cross through the bus, and each type 5 record is written once, by the node that took
// the offer, whichever node the answer and the hang-up came through; called back once each.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { startCluster, type ClusterNode } from './helpers/cluster.ts'
import { receiver } from './helpers/receiver.ts'
import { Inbox } from './helpers/server.ts'
import { waitFor } from './helpers/wait.ts'

const SDP = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n'

test('a call between two nodes: signals cross the bus, started and ended are written and called back once each', async (t) => {
  const c = await startCluster(t, 2)
  const [a, b] = c.nodes as [ClusterNode, ClusterNode]
  const made = await a.api('POST', '/api/v1/domains', { id: 'acme', name: 'acme' })
  assert.equal(made.status, 201)
  const d = made.body
  const rx = await receiver(t)
  assert.equal((await a.api('PUT', `/api/v1/domains/${d.id}/callbacks/messages`, { url: rx.url, enabled: true }, d.apiKey)).status, 200)
  const ada = await c.connect(a, d, 2)
  const bob = await c.connect(b, d, 3)
  const adaIn = new Inbox(ada)
  const bobIn = new Inbox(bob)
  await ada.subscribeAsync([`chat/${d.id}/2/signal`, `chat/${d.id}/2/ack`], { qos: 1 })
  await bob.subscribeAsync([`chat/${d.id}/3/signal`, `chat/${d.id}/3/ack`, `chat/${d.id}/3/inbox`], { qos: 1 })
  const call = (u: typeof ada, from: number, body: object) => u.publishAsync(`chat/${d.id}/${from}/call`, JSON.stringify(body), { qos: 1 })
  const heard = (inbox: Inbox, type: string) => inbox.next((m) => m.topic.endsWith('/signal') && m.payload.type === type, `${type} across nodes`)

  // Ada (node a) calls Bob (node b); he answers through node b, then hangs up through node b.
  await call(ada, 2, { to_userid: 3, call: 'x-1', kind: 'offer', sdp: SDP, video: true })
  assert.deepEqual((await heard(bobIn, 'offer')).payload, { kind: 'call', from_userid: 2, call: 'x-1', type: 'offer', sdp: SDP, video: true })
  await call(bob, 3, { to_userid: 2, call: 'x-1', kind: 'answer', sdp: SDP })
  await heard(adaIn, 'answer')
  await bobIn.next((m) => m.topic.endsWith('/inbox') && m.payload.message.message === 'started', 'started in Bob\'s inbox on node b')
  await call(bob, 3, { to_userid: 2, call: 'x-1', kind: 'hangup' })
  await heard(adaIn, 'hangup')

  const bodies = await waitFor(() => {
    const got = rx.requests.map((r) => r.json).filter((j) => j?.message?.type === 5)
    return got.length >= 2 ? got : null
  }, 'two records called back', 15_000)
  assert.deepEqual(bodies.map((j) => [j.from_userid, j.to_userid, j.message.message, j.message.p1, j.message.p2]), [[2, 3, 'started', 'x-1', 'video'], [2, 3, 'ended', 'x-1', 'video']])
  // Once each: the history of either node holds two records, no more, and no third callback came.
  const history = await b.api('GET', `/api/v1/domains/${d.id}/messages?userid=2&peer=3`, undefined, d.apiKey)
  assert.deepEqual((history.body.messages as any[]).map((m) => m.message.message), ['ended', 'started'])
  // A message Ada sends afterwards is called back after anything of hers written before it
  // (SPEC §4.4: in order per sender): a doubled record would have come by then.
  await ada.publishAsync(`chat/${d.id}/2/send`, JSON.stringify({ to_userid: 3, message: 'after the call', type: 0 }), { qos: 1 })
  await waitFor(() => rx.requests.some((r) => r.json?.message?.message === 'after the call'), 'the message after the call called back', 15_000)
  assert.equal(rx.requests.filter((r) => r.json?.message?.type === 5).length, 2)
})
