// Several nodes as one service (SPEC §6): real mqchat processes on one PostgreSQL and one
// Redis; a message across nodes, one presence over two nodes, callbacks once and in order
// whichever node took the event, a node killed or paused, the bus's connections killed.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Redis } from 'ioredis'
import { receiver } from './helpers/receiver.ts'
import { REDIS_URL, startCluster, type Cluster, type ClusterNode } from './helpers/cluster.ts'
import { Inbox } from './helpers/server.ts'
import { waitFor } from './helpers/wait.ts'

async function domain (node: ClusterNode, id: string): Promise<{ id: string, apiKey: string }> {
  const r = await node.api('POST', '/api/v1/domains', { id, name: id })
  assert.equal(r.status, 201, JSON.stringify(r.body))
  return r.body
}

async function presenceReceiver (t: Parameters<typeof startCluster>[0], c: Cluster, d: { id: string, apiKey: string }) {
  const rx = await receiver(t)
  const r = await c.nodes[0]!.api('PUT', `/api/v1/domains/${d.id}/callbacks/presence`, { url: rx.url, enabled: true }, d.apiKey)
  assert.equal(r.status, 200, JSON.stringify(r.body))
  const of = (userid: number) => rx.requests.filter((q) => q.json?.userid === userid).map((q) => q.json.status as string)
  return { rx, of }
}

const send = (client: import('mqtt').MqttClient, d: { id: string }, from: number, to: number, text: string) =>
  client.publishAsync(`chat/${d.id}/${from}/send`, JSON.stringify({ to_userid: to, message: text, type: 0, cid: text }), { qos: 1 })

test('three nodes: a message crosses nodes, and one user on two nodes is one presence', async (t) => {
  const c = await startCluster(t, 3)
  const [a, b, n3] = c.nodes as [ClusterNode, ClusterNode, ClusterNode]
  const d = await domain(a, 'acme')
  const { of } = await presenceReceiver(t, c, d)
  const alice = await c.connect(a, d, 1)
  const carol = await c.connect(n3, d, 3)
  const carolIn = new Inbox(carol)
  await carol.subscribeAsync([`chat/${d.id}/3/inbox`, `chat/${d.id}/+/presence`], { qos: 1 })

  await send(alice, d, 1, 3, 'across nodes')
  const got = await carolIn.next((m) => m.topic.endsWith('/inbox'), 'the message on another node')
  assert.equal(got.payload.message.message, 'across nodes')

  // User 5 opens a tab on node a and one on node b: one presence, seen live on node 3.
  const tab1 = await c.connect(a, d, 5)
  const tab2 = await c.connect(b, d, 5)
  await carolIn.next((m) => m.topic === `chat/${d.id}/5/presence` && m.payload.status === 'online', 'user 5 online, seen from node 3')
  await tab1.endAsync()
  // the other tab holds the presence: past the grace time, nothing changes
  await waitFor(async () => (await b.api('GET', `/api/v1/domains/${d.id}/presence`, undefined, d.apiKey)).body.users.some((u: any) => u.userid === 5 && u.status === 'online'), 'still online')
  await new Promise((resolve) => setTimeout(resolve, 600)) // past the 200 ms grace: an event would have come
  assert.deepEqual(of(5), ['online'])
  await tab2.endAsync()
  await carolIn.next((m) => m.topic === `chat/${d.id}/5/presence` && m.payload.status === 'offline', 'user 5 offline once its last tab closed')
  await waitFor(() => of(5).length === 2, 'the offline callback')
  assert.deepEqual(of(5), ['online', 'offline'])
})

test('60 messages of one sender entered through three nodes are called back once each, in order', async (t) => {
  const c = await startCluster(t, 3)
  const d = await domain(c.nodes[0]!, 'acme')
  const rx = await receiver(t)
  assert.equal((await c.nodes[1]!.api('PUT', `/api/v1/domains/${d.id}/callbacks/messages`, { url: rx.url, enabled: true }, d.apiKey)).status, 200)
  for (let i = 0; i < 60; i++) {
    const r = await c.nodes[i % 3]!.api('POST', `/api/v1/domains/${d.id}/messages`, { from_userid: 1, to_userid: 2, message: `m${i}`, type: 0 }, d.apiKey)
    assert.equal(r.status, 201)
  }
  await rx.count(60, 20_000)
  await new Promise((resolve) => setTimeout(resolve, 500)) // a duplicate would arrive now
  assert.deepEqual(rx.requests.map((r) => r.json.message.message), Array.from({ length: 60 }, (_, i) => `m${i}`))
  assert.equal(new Set(rx.requests.map((r) => r.headers['webhook-id'])).size, 60)
})

test('a node killed with -9: its users go offline (one event each) and its callbacks are delivered by the others', async (t) => {
  const c = await startCluster(t, 3, { MQCHAT_NODE_TTL_MS: '3000' })
  const [a, b] = c.nodes as [ClusterNode, ClusterNode]
  const d = await domain(a, 'acme')
  const { of } = await presenceReceiver(t, c, d)
  const rx = await receiver(t)
  // The messages receiver stalls: the killed node is holding attempts when it dies.
  let stall = true
  rx.respond = (_req, res) => { if (stall) return; res.end('ok') }
  assert.equal((await a.api('PUT', `/api/v1/domains/${d.id}/callbacks/messages`, { url: rx.url, enabled: true }, d.apiKey)).status, 200)
  await c.connect(b, d, 7)
  await c.connect(b, d, 8)
  await waitFor(() => of(7).length === 1 && of(8).length === 1, 'both online')
  for (let i = 0; i < 5; i++) assert.equal((await b.api('POST', `/api/v1/domains/${d.id}/messages`, { from_userid: 10 + i, to_userid: 2, message: `k${i}`, type: 0 }, d.apiKey)).status, 201)
  await waitFor(() => rx.requests.length >= 1, 'attempts under way')
  const killedAt = Date.now()
  b.proc.child.kill('SIGKILL')
  await waitFor(() => of(7).length === 2 && of(8).length === 2, 'users of the killed node offline', 30_000)
  assert.ok(Date.now() - killedAt < 30_000)
  stall = false
  await waitFor(() => new Set(rx.requests.filter((r) => r.json !== null).map((r) => r.json.message.message)).size === 5, 'every message called back', 30_000)
  await new Promise((resolve) => setTimeout(resolve, 500))
  assert.deepEqual(of(7), ['online', 'offline'])
  assert.deepEqual(of(8), ['online', 'offline'])
})

test('a node paused past the liveness limit and resumed: no second offline, its users connect again', async (t) => {
  const c = await startCluster(t, 2, { MQCHAT_NODE_TTL_MS: '2000' })
  const [a, b] = c.nodes as [ClusterNode, ClusterNode]
  const d = await domain(a, 'acme')
  const { of } = await presenceReceiver(t, c, d)
  const user = await c.connect(b, d, 9)
  await waitFor(() => of(9).length === 1, 'online')
  b.proc.child.kill('SIGSTOP')
  await waitFor(() => of(9).length === 2, 'offline once the paused node is taken for gone', 30_000)
  const closed = new Promise<void>((resolve) => user.once('close', () => resolve()))
  b.proc.child.kill('SIGCONT')
  // The resumed node finds it was reaped and lets its users' sockets go (they reconnect).
  await closed
  await new Promise((resolve) => setTimeout(resolve, 1000))
  assert.deepEqual(of(9), ['online', 'offline'], 'no second offline')
  // and the node serves again
  const again = await c.connect(b, d, 9)
  await waitFor(() => of(9).length === 3, 'online again')
  assert.equal(of(9)[2], 'online')
  await again.endAsync()
})

test('the bus\'s Redis connections killed mid-traffic: nothing accepted is lost, cross-node delivery is back within 30 s', async (t) => {
  const c = await startCluster(t, 2)
  const [a, b] = c.nodes as [ClusterNode, ClusterNode]
  const d = await domain(a, 'acme')
  const sender = await c.connect(a, d, 1)
  const reader = await c.connect(b, d, 2)
  const inbox = new Inbox(reader)
  await reader.subscribeAsync(`chat/${d.id}/2/inbox`, { qos: 1 })
  await send(sender, d, 1, 2, 'before')
  await inbox.next((m) => m.payload?.message?.message === 'before', 'before')

  const redis = new Redis(REDIS_URL)
  t.after(() => redis.disconnect())
  const list = await redis.client('LIST') as string
  const ours = list.split('\n').filter((l) => l.includes(`name=${c.redisPrefix}`)).map((l) => /id=(\d+)/.exec(l)![1]!)
  assert.ok(ours.length >= 4, 'each node has a publisher and a subscriber')
  for (const id of ours) await redis.client('KILL', 'ID', id)

  // Sends go on meanwhile; every one is stored (acked) whatever the bus does.
  for (let i = 0; i < 20; i++) await send(sender, d, 1, 2, `during${i}`)
  let n = 0
  await waitFor(async () => {
    await send(sender, d, 1, 2, `probe${++n}`)
    return inbox.received.some((m) => /^probe/.test(m.payload?.message?.message))
  }, 'cross-node delivery back', 30_000)
  const health = await (await fetch(`${b.httpUrl}/healthz`)).json() as { bus?: string }
  assert.equal(health.bus, 'up')
  // A client that missed publishes catches up from history: nothing is lost.
  const history = await b.api('GET', `/api/v1/domains/${d.id}/messages?userid=2&peer=1&limit=100`, undefined, d.apiKey)
  const texts = history.body.messages.map((m: any) => m.message.message)
  for (let i = 0; i < 20; i++) assert.ok(texts.includes(`during${i}`), `during${i} stored`)
})
