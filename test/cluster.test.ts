// Several nodes as one service (SPEC §6): real mqchat processes on one PostgreSQL and one
// Redis; a message across nodes, one presence over two nodes, callbacks once and in order
// whichever node took the event, a node killed or paused, the bus's connections killed.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Redis } from 'ioredis'
import { receiver } from './helpers/receiver.ts'
import { REDIS_URL, startCluster, type Cluster, type ClusterNode } from './helpers/cluster.ts'
import { Inbox } from './helpers/server.ts'
import { TcpProxy } from './helpers/tcp-proxy.ts'
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

/** Two nodes and a domain created through the first. */
async function twoNodes (t: Parameters<typeof startCluster>[0]) {
  const c = await startCluster(t, 2)
  const [a, b] = c.nodes as [ClusterNode, ClusterNode]
  return { c, a, b, d: await domain(a, 'acme') }
}

/** User 1 on node a sends to user 2 on node b, whose inbox is watched; a first message has crossed. */
async function acrossTwoNodes (c: Cluster) {
  const [a, b] = c.nodes as [ClusterNode, ClusterNode]
  const d = await domain(a, 'acme')
  const sender = await c.connect(a, d, 1)
  const reader = await c.connect(b, d, 2)
  const inbox = new Inbox(reader)
  await reader.subscribeAsync(`chat/${d.id}/2/inbox`, { qos: 1 })
  await send(sender, d, 1, 2, 'before')
  await inbox.next((m) => m.payload?.message?.message === 'before', 'before')
  return { a, b, d, sender, inbox }
}

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
  // (a pause in the middle of an attempt may send that event twice: at least once. Pause
  // once the online is recorded as delivered, to see that nothing else is doubled.)
  await waitFor(async () => (await a.api('GET', `/api/v1/domains/${d.id}/callbacks/presence`, undefined, d.apiKey)).body.pending === 0, 'the online recorded')
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
  const { b, d, sender, inbox } = await acrossTwoNodes(c)

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

test('the per-user send limit holds across nodes', async (t) => {
  const c = await startCluster(t, 2, { MQCHAT_USER_RATE: '3/1m,burst=3' })
  const [a, b] = c.nodes as [ClusterNode, ClusterNode]
  const d = await domain(a, 'acme')
  const onA = await c.connect(a, d, 1)
  const onB = await c.connect(b, d, 1)
  const acks = [new Inbox(onA), new Inbox(onB)]
  await onA.subscribeAsync(`chat/${d.id}/1/ack`, { qos: 1 })
  await onB.subscribeAsync(`chat/${d.id}/1/ack`, { qos: 1 })
  // two tabs on two nodes, four sends: one bucket of three
  for (const [i, client] of [onA, onB, onA, onB].entries()) await send(client, d, 1, 2, `s${i}`)
  const results = async () => {
    const seen = new Map<string, string>()
    for (const inbox of acks) for (const m of inbox.received) seen.set(m.payload.cid, m.payload.error?.code ?? 'ok')
    return seen
  }
  await waitFor(async () => (await results()).size === 4, 'four acks')
  assert.deepEqual([...(await results()).values()].sort(), ['ok', 'ok', 'ok', 'rate_limited'])
})

test('the database cut off from every node: each answers 503 and refuses sends with unavailable, then recovers by itself', async (t) => {
  const proxy = new TcpProxy()
  const c = await startCluster(t, 2, {}, { databaseProxy: proxy })
  const d = await domain(c.nodes[0]!, 'acme')
  const health = async (n: ClusterNode) => (await fetch(`${n.httpUrl}/healthz`)).status
  const sendVia = (n: ClusterNode, text: string) => n.api('POST', `/api/v1/domains/${d.id}/messages`, { from_userid: 1, to_userid: 2, message: text, type: 0 }, d.apiKey)
  assert.equal((await sendVia(c.nodes[0]!, 'before')).status, 201)
  proxy.cut()
  for (const n of c.nodes) {
    await waitFor(async () => await health(n) === 503, '503 while the database is cut off', 15_000).catch((err) => { throw new Error(err.message + n.proc.stdout().slice(-3000) + n.proc.stderr().slice(-3000)) })
    const r = await sendVia(n, 'during')
    assert.equal(r.status, 503)
    assert.equal(r.body.error.code, 'unavailable')
  }
  proxy.restore()
  for (const n of c.nodes) await waitFor(async () => await health(n) === 200, '200 once the database is back', 20_000)
  assert.equal((await sendVia(c.nodes[1]!, 'after')).status, 201)
  const history = await c.nodes[0]!.api('GET', `/api/v1/domains/${d.id}/messages?userid=1&peer=2`, undefined, d.apiKey)
  assert.deepEqual(history.body.messages.map((m: any) => m.message.message), ['after', 'before'])
})

test('typing and read signals cross nodes, and erasing a user closes its connections on every node', async (t) => {
  const { c, a, b, d } = await twoNodes(t)
  const ada = await c.connect(a, d, 2)
  const bob = await c.connect(b, d, 3)
  const adaIn = new Inbox(ada)
  const bobIn = new Inbox(bob)
  await ada.subscribeAsync([`chat/${d.id}/2/signal`, `chat/${d.id}/2/ack`], { qos: 1 })
  await bob.subscribeAsync([`chat/${d.id}/3/signal`, `chat/${d.id}/3/inbox`], { qos: 1 })

  // Ada (node a) types to Bob (node b): the signal reaches him through the bus.
  await ada.publishAsync(`chat/${d.id}/2/typing`, JSON.stringify({ to_userid: 3 }), { qos: 1 })
  const typing = await bobIn.next((m) => m.topic.endsWith('/signal'), 'typing on the other node')
  assert.deepEqual(typing.payload, { kind: 'typing', from_userid: 2 })

  // Bob reads her message on node b: her tick comes on node a.
  await send(ada, d, 2, 3, 'hello')
  const msg = await bobIn.next((m) => m.topic.endsWith('/inbox'), 'the message on node b')
  await bob.publishAsync(`chat/${d.id}/3/read`, JSON.stringify({ peer: 2, up_to: msg.payload.message.id }), { qos: 1 })
  const tick = await adaIn.next((m) => m.topic.endsWith('/signal') && m.payload.kind === 'read', 'the read tick on node a')
  assert.deepEqual([tick.payload.userid, tick.payload.peer, tick.payload.up_to], [3, 2, msg.payload.message.id])

  // Bob is erased through node a's API: his connection on node b is closed.
  bob.options.reconnectPeriod = 0
  assert.equal((await a.api('DELETE', `/api/v1/domains/${d.id}/users/3`, undefined, d.apiKey)).status, 204)
  await waitFor(() => !bob.connected, 'Bob\'s connection on node b closed', 10_000)
})

test('a message the site sends for a user over REST reaches that user\'s own connections live, on every node', async (t) => {
  const { c, a, b, d } = await twoNodes(t)
  // Ada has a tab on each node; Bob is on node b.
  const tabs = [await c.connect(a, d, 2), await c.connect(b, d, 2)]
  const tabsIn = tabs.map((tab) => new Inbox(tab))
  for (const tab of tabs) await tab.subscribeAsync([`chat/${d.id}/2/ack`, `chat/${d.id}/2/inbox`], { qos: 1 })
  const bob = await c.connect(b, d, 3)
  const bobIn = new Inbox(bob)
  await bob.subscribeAsync(`chat/${d.id}/3/inbox`, { qos: 1 })

  // The site sends as Ada through node a's API.
  const r = await a.api('POST', `/api/v1/domains/${d.id}/messages`, { from_userid: 2, to_userid: 3, message: 'sent by the site', type: 0 }, d.apiKey)
  assert.equal(r.status, 201, JSON.stringify(r.body))
  await bobIn.next((m) => m.payload?.message?.id === r.body.message.id, 'the message in Bob\'s inbox')
  for (const [i, inbox] of tabsIn.entries()) {
    const ack = await inbox.next((m) => m.topic.endsWith('/ack'), `the message on Ada's tab on node ${i === 0 ? 'a' : 'b'}`)
    assert.deepEqual(ack.payload, { cid: null, event: r.body }, 'her own message, on her answers, with no cid')
  }
  // an MQTT send of hers still reaches her other tab (node a) with its cid, once
  await send(tabs[0]!, d, 2, 3, 'from a tab')
  await tabsIn[0]!.next((m) => m.payload?.cid === 'from a tab', 'her own ack')
  assert.equal(tabsIn[0]!.received.filter((m) => m.topic.endsWith('/ack')).length, 2)
  assert.equal(tabsIn.flatMap((x) => x.received).filter((m) => m.topic.endsWith('/inbox')).length, 0, 'nothing in her inbox: she sent them')
})

test('a bus subscriber that goes silent (open, but nothing arrives) is noticed by the node\'s own pings and replaced', async (t) => {
  // Every node reaches Redis through the test's proxy, which can silence a connection.
  const redisProxy = await new TcpProxy('127.0.0.1', Number(new URL(REDIS_URL).port || 6379)).start(t)
  const c = await startCluster(t, 2, { MQCHAT_REDIS_URL: `redis://127.0.0.1:${redisProxy.port}` })
  const { a, b, d, sender, inbox } = await acrossTwoNodes(c)

  // Each node's subscriber connection (the one that sent SUBSCRIBE) goes silent.
  assert.equal(redisProxy.stall((sent) => /subscribe/i.test(sent)), 2, 'one subscriber per node')
  let n = 0
  await waitFor(async () => {
    await send(sender, d, 1, 2, `probe${++n}`)
    return inbox.received.some((m) => /^probe/.test(m.payload?.message?.message))
  }, 'cross-node delivery back on a new subscriber', 30_000)
  // and each node, hearing its own pings again, says so
  for (const node of [a, b]) {
    await waitFor(async () => ((await (await fetch(`${node.httpUrl}/healthz`)).json()) as { bus?: string }).bus === 'up', 'the bus up again', 10_000)
  }
})

test('typing in two tabs on two nodes is relayed at most once a second, as on one node', async (t) => {
  const { c, a, b, d } = await twoNodes(t)
  const tab1 = await c.connect(a, d, 2)
  const tab2 = await c.connect(b, d, 2)
  const bob = await c.connect(b, d, 3)
  const bobIn = new Inbox(bob)
  await bob.subscribeAsync([`chat/${d.id}/3/signal`, `chat/${d.id}/3/inbox`], { qos: 1 })
  const typings = () => bobIn.received.filter((m) => m.payload?.kind === 'typing').length
  const typeFrom = (tab: import('mqtt').MqttClient) => tab.publishAsync(`chat/${d.id}/2/typing`, JSON.stringify({ to_userid: 3 }), { qos: 1 })

  // Both tabs at once (each PUBACK comes once its notice was relayed or dropped).
  await Promise.all([typeFrom(tab1), typeFrom(tab2)])
  // Node a's publishes cross the bus in order: once its later message is in, so is any notice.
  await send(tab1, d, 2, 3, 'marker')
  await bobIn.next((m) => m.payload?.message?.message === 'marker', 'the marker after the notices')
  assert.equal(typings(), 1, 'one notice for the two tabs within the second')
  // The limit is a time: once the second has passed, the pair's next notice goes through.
  await new Promise((resolve) => setTimeout(resolve, 1100))
  await typeFrom(tab2)
  await waitFor(() => typings() === 2, 'the next notice, a second later')
})

test('a Redis connection that goes half-open does not hold sends: the shared limit gives way to the node\'s own', async (t) => {
  const redisProxy = await new TcpProxy('127.0.0.1', Number(new URL(REDIS_URL).port || 6379)).start(t)
  const c = await startCluster(t, 1, { MQCHAT_REDIS_URL: `redis://127.0.0.1:${redisProxy.port}` })
  const [a] = c.nodes as [ClusterNode]
  const d = await domain(a, 'acme')
  const sender = await c.connect(a, d, 1)
  const acks = new Inbox(sender)
  await sender.subscribeAsync(`chat/${d.id}/1/ack`, { qos: 1 })
  await send(sender, d, 1, 2, 'before')
  await acks.next((m) => m.payload.cid === 'before', 'the first ack')
  // Every connection to Redis stays open and answers nothing from now on.
  assert.ok(redisProxy.stall(() => true) >= 2, 'the node\'s Redis connections')
  const started = Date.now()
  await send(sender, d, 1, 2, 'during')
  const ack = await acks.next((m) => m.payload.cid === 'during', 'the ack while Redis is silent')
  assert.equal(ack.payload.event.message.message, 'during')
  assert.ok(Date.now() - started < 3000, `acked after ${Date.now() - started} ms`)
})

test('the bus has a channel per domain: a node with no connection of a domain hears none of its messages (counted at Redis)', async (t) => {
  const c = await startCluster(t, 2)
  const [a, b] = c.nodes as [ClusterNode, ClusterNode]
  const acme = await domain(a, 'acme')
  const beta = await domain(a, 'beta')
  const redis = new Redis(REDIS_URL)
  t.after(() => redis.quit())
  const subscribers = async (d: { id: string }): Promise<number> => {
    const r = await redis.pubsub('NUMSUB', `${c.redisPrefix}bus:${d.id}`) as [string, number]
    return Number(r[1])
  }
  assert.equal(await subscribers(acme), 0, 'nobody connected yet: no node hears acme')

  // acme is served on both nodes, beta only on a
  const alice = await c.connect(a, acme, 1)
  const bob = await c.connect(b, acme, 2)
  const carol = await c.connect(a, beta, 1)
  assert.equal(await subscribers(acme), 2)
  assert.equal(await subscribers(beta), 1, 'only node a hears beta')

  // What the bus carries for beta, seen by a subscriber of the test's own
  const spy = new Redis(REDIS_URL)
  t.after(() => spy.quit())
  const heard: string[] = []
  await spy.psubscribe(`${c.redisPrefix}bus:*`)
  spy.on('pmessage', (_p: string, channel: string) => heard.push(channel.slice(c.redisPrefix.length)))

  // beta's messages go on beta's channel only, which node b does not hear
  const dave = await c.connect(a, beta, 2)
  const daveIn = new Inbox(dave)
  await dave.subscribeAsync(`chat/${beta.id}/2/inbox`, { qos: 1 })
  await send(carol, beta, 1, 2, 'beta only')
  await daveIn.next((m) => m.payload?.message?.message === 'beta only', 'the message on the same node')
  await waitFor(() => heard.includes('bus:beta'), 'beta\'s publish on its channel')
  assert.equal(await subscribers(beta), 1, 'still only node a')

  // acme's still cross: alice on a to bob on b
  const bobIn = new Inbox(bob)
  await bob.subscribeAsync(`chat/${acme.id}/2/inbox`, { qos: 1 })
  await send(alice, acme, 1, 2, 'across')
  await bobIn.next((m) => m.payload?.message?.message === 'across', 'acme across nodes')

  // Now b serves beta too: from its first connection on, it hears beta
  const erin = await c.connect(b, beta, 3)
  assert.equal(await subscribers(beta), 2, 'node b joined beta before letting the connection in')
  const erinIn = new Inbox(erin)
  await erin.subscribeAsync(`chat/${beta.id}/3/inbox`, { qos: 1 })
  await send(carol, beta, 1, 3, 'now across')
  await erinIn.next((m) => m.payload?.message?.message === 'now across', 'beta across nodes once b serves it')
})

test('friends on two nodes: a friendship and the contacts setting made through one node filter presence on the other', async (t) => {
  const { c, a, b, d } = await twoNodes(t)
  const patch = async (contacts: string) => assert.equal((await a.api('PATCH', `/api/v1/domains/${d.id}`, { contacts }, d.apiKey)).status, 200)
  const friends = async (method: 'PUT' | 'DELETE', x: number, y: number) =>
    assert.equal((await a.api(method, `/api/v1/domains/${d.id}/users/${x}/friends/${y}`, undefined, d.apiKey)).status, 204)
  await patch('friends')
  const bob = await c.connect(a, d, 3)
  const carol = await c.connect(a, d, 4)
  const alice = await c.connect(b, d, 2)
  const inbox = new Inbox(alice)
  await alice.subscribeAsync(`chat/${d.id}/+/presence`, { qos: 1 })
  const of = (userid: number) => inbox.received.filter((m) => m.topic === `chat/${d.id}/${userid}/presence`)
  const status = (client: import('mqtt').MqttClient, userid: number, s: string) =>
    client.publishAsync(`chat/${d.id}/${userid}/status`, JSON.stringify({ status: s }), { qos: 1 })

  // made through node a: node b lets Bob's presence through to Alice, at once and after
  await friends('PUT', 2, 3)
  await inbox.next((m) => m.topic === `chat/${d.id}/3/presence` && m.payload.status === 'online', 'bob, a new friend, on the other node')
  await status(carol, 4, 'away')
  await status(bob, 3, 'busy')
  await inbox.next((m) => m.topic === `chat/${d.id}/3/presence` && m.payload.status === 'busy', 'bob busy')
  assert.deepEqual(of(4), [], 'nothing of carol')
  // open to everyone, through node a: node b lets everyone through (the bus keeps one
  // node's notices in order: the setting reaches node b before Carol's next change)
  await patch('everyone')
  await status(carol, 4, 'busy')
  await inbox.next((m) => m.topic === `chat/${d.id}/4/presence` && m.payload.status === 'busy', 'carol busy, once open to everyone')
})
