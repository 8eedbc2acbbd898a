// Conversations, read receipts, typing and blocking (SPEC §2, §3), as two users see them
// with mqtt.js and their tokens.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Inbox, startServer } from './helpers/server.ts'
import { send, user, type User } from './helpers/users.ts'
import { waitFor } from './helpers/wait.ts'

async function request (d: { id: string }, from: User, leaf: 'read' | 'typing', body: object): Promise<void> {
  await from.client.publishAsync(`chat/${d.id}/${from.id}/${leaf}`, JSON.stringify(body), { qos: 1 })
}

test('two users see each other\'s names, unread counts and read ticks, on every connection', async (t) => {
  const s = await startServer(t)
  const d = await s.domain()
  const alice = await user(s, d, 2, 'Alice')
  const bob = await user(s, d, 3601, 'Bob')
  const bobTab2 = await s.connect(d, 3601)
  const tab2 = new Inbox(bobTab2)
  await bobTab2.subscribeAsync(`chat/${d.id}/3601/signal`, { qos: 1 })

  const sent = []
  for (const text of ['hi', 'are you there?', 'ping']) sent.push((await send(d, alice, 3601, text)).event)
  const convs = async (u: User) => {
    const r = await s.api('GET', `/api/v1/domains/${d.id}/users/${u.id}/conversations`, undefined, u.token)
    assert.equal(r.status, 200, JSON.stringify(r.body))
    return r.body.conversations
  }
  let [c] = await convs(bob)
  assert.deepEqual(Object.keys(c), ['peer', 'last', 'unread', 'readUpTo', 'peerReadUpTo'])
  assert.deepEqual([c.peer.userid, c.peer.name, c.peer.status, c.unread, c.readUpTo, c.peerReadUpTo], [2, 'Alice', 'online', 3, 0, 0])
  assert.deepEqual(c.last, sent[2])

  // Bob reads up to the second message: both users, every connection, get the signal
  await request(d, bob, 'read', { peer: 2, up_to: sent[1].message.id })
  const expected = { kind: 'read', userid: 3601, peer: 2, up_to: sent[1].message.id }
  for (const [who, box] of [['alice', alice.inbox], ['bob', bob.inbox], ['bob tab 2', tab2]] as const) {
    const sig = await box.next((m) => m.topic.endsWith('/signal') && m.payload.kind === 'read', `the read signal (${who})`)
    const { timestamp, ...rest } = sig.payload
    assert.deepEqual(rest, expected)
    assert.ok(Math.abs(timestamp - Date.now() / 1000) < 5)
  }
  ;[c] = await convs(bob)
  assert.deepEqual([c.unread, c.readUpTo], [1, sent[1].message.id])
  ;[c] = await convs(alice)
  assert.deepEqual([c.peer.name, c.unread, c.readUpTo, c.peerReadUpTo], ['Bob', 0, 0, sent[1].message.id])

  // a changed profile reaches the peer's next answer; the domain key reads it too
  await s.api('PUT', `/api/v1/domains/${d.id}/users/2`, { name: 'Alice L.' }, d.apiKey)
  const byKey = await s.api('GET', `/api/v1/domains/${d.id}/users/3601/conversations?limit=1`, undefined, d.apiKey)
  assert.equal(byKey.body.conversations[0].peer.name, 'Alice L.')
  // a user's token cannot read another user's conversations
  const other = await s.api('GET', `/api/v1/domains/${d.id}/users/3601/conversations`, undefined, alice.token)
  assert.equal(other.status, 403)
  assert.equal(other.body.error.code, 'forbidden')
})

test('conversations come most recent first and page with before', async (t) => {
  const s = await startServer(t)
  const d = await s.domain()
  for (const peer of [10, 11, 12, 13]) {
    await s.api('POST', `/api/v1/domains/${d.id}/messages`, { from_userid: peer, to_userid: 1, message: `from ${peer}`, type: 0 }, d.apiKey)
  }
  await s.api('POST', `/api/v1/domains/${d.id}/messages`, { from_userid: 1, to_userid: 11, message: 'back to 11', type: 0 }, d.apiKey)
  const page = async (q: string) => (await s.api('GET', `/api/v1/domains/${d.id}/users/1/conversations${q}`, undefined, d.apiKey)).body.conversations
  const first = await page('?limit=2')
  assert.deepEqual(first.map((c: any) => [c.peer.userid, c.unread]), [[11, 1], [13, 1]])
  const next = await page(`?limit=2&before=${first[1].last.message.id}`)
  assert.deepEqual(next.map((c: any) => c.peer.userid), [12, 10])
  assert.equal((await s.api('GET', `/api/v1/domains/${d.id}/users/1/conversations?limit=0`, undefined, d.apiKey)).status, 400)
})

test('a read marker only moves forward and never past the last message; bad ones get an error and change nothing', async (t) => {
  const s = await startServer(t)
  const d = await s.domain()
  const alice = await user(s, d, 2, 'Alice')
  const bob = await user(s, d, 3, 'Bob')
  const m1 = (await send(d, alice, 3, 'one')).event.message.id
  const m2 = (await send(d, alice, 3, 'two')).event.message.id
  await request(d, bob, 'read', { peer: 2, up_to: m2, cid: 'r0' })
  await bob.inbox.next((m) => m.topic.endsWith('/signal'), 'the read signal')
  const cases: Array<[unknown, RegExp]> = [
    [{ peer: 2, up_to: m1, cid: 'r1' }, /only moves forward/],
    [{ peer: 2, up_to: m2 + 1000, cid: 'r2' }, /beyond the last message/],
    [{ peer: 99, up_to: 1, cid: 'r3' }, /no messages between you and 99/],
    [{ peer: 2, up_to: '5', cid: 'r4' }, /up_to/],
    [{ peer: 2, cid: 'r5' }, /up_to/],
    [{ peer: 2, up_to: -1, cid: 'r6' }, /up_to/]
  ]
  for (const [body, message] of cases) {
    await request(d, bob, 'read', body as object)
    const cid = (body as { cid: string }).cid
    const ack = await bob.inbox.next((m) => m.topic.endsWith('/ack') && m.payload.cid === cid, `the error for ${cid}`)
    assert.equal(ack.payload.error.code, 'invalid_request')
    assert.match(ack.payload.error.message, message)
  }
  await request(d, bob, 'read', { peer: 2, up_to: m2, cid: 'same' })
  const [c] = (await s.api('GET', `/api/v1/domains/${d.id}/users/3/conversations`, undefined, bob.token)).body.conversations
  assert.deepEqual([c.readUpTo, c.unread], [m2, 0])
  // only the one read that moved the marker was signalled
  assert.equal(alice.inbox.on(`chat/${d.id}/2/signal`).length, 1)
  // the callback bodies are the fixed ones: a read marker writes no event
  const events = await s.api('GET', `/api/v1/domains/${d.id}/callbacks/messages/events`, undefined, d.apiKey)
  assert.equal(events.body.items.length, 2)
})

test('typing is relayed as a signal at most once a second per pair, never stored, and floods are limited', async (t) => {
  const s = await startServer(t)
  const d = await s.domain()
  const alice = await user(s, d, 2, 'Alice')
  const bob = await user(s, d, 3, 'Bob')
  const carol = await user(s, d, 4, 'Carol')
  for (let i = 0; i < 10; i++) await request(d, alice, 'typing', { to_userid: 3 })
  const sig = await bob.inbox.next((m) => m.topic.endsWith('/signal'), 'the typing signal')
  assert.deepEqual(sig.payload, { kind: 'typing', from_userid: 2 })
  // a marker that is delivered after the typing ones: the others were coalesced
  await request(d, carol, 'typing', { to_userid: 3 })
  await bob.inbox.next((m) => m.topic.endsWith('/signal') && m.payload.from_userid === 4, 'carol typing')
  assert.equal(bob.inbox.on(`chat/${d.id}/3/signal`).filter((m) => m.payload.from_userid === 2).length, 1)
  assert.equal(carol.inbox.on(`chat/${d.id}/4/signal`).length, 0, 'nobody else hears it')
  // a second later, another one goes through (time is what is tested here, not a wait for work)
  await new Promise((resolve) => setTimeout(resolve, 1100))
  await request(d, alice, 'typing', { to_userid: 3 })
  await waitFor(() => bob.inbox.on(`chat/${d.id}/3/signal`).filter((m) => m.payload.from_userid === 2).length === 2, 'a second typing signal')

  // bad input is answered; a flood beyond the user's rate is refused
  await request(d, alice, 'typing', { to_userid: 'bob', cid: 'bad' })
  const bad = await alice.inbox.next((m) => m.topic.endsWith('/ack') && m.payload.cid === 'bad', 'the error')
  assert.equal(bad.payload.error.code, 'invalid_request')
  for (let i = 0; i < 100; i++) void alice.client.publishAsync(`chat/${d.id}/2/typing`, JSON.stringify({ to_userid: 4, cid: `f${i}` }), { qos: 0 })
  const limited = await alice.inbox.next((m) => m.topic.endsWith('/ack') && m.payload.error?.code === 'rate_limited', 'rate_limited')
  assert.match(limited.payload.error.message, /typing/)
  // nothing of it was stored or called back
  const events = await s.api('GET', `/api/v1/domains/${d.id}/callbacks/messages/events`, undefined, d.apiKey)
  assert.equal(events.body.items.length, 0)
  assert.equal((await s.api('GET', `/api/v1/domains/${d.id}/users/3/conversations`, undefined, d.apiKey)).body.conversations.length, 0)
})

test('a user who blocks a peer gets none of its messages (blocked) nor its typing, until unblocked', async (t) => {
  const s = await startServer(t)
  const d = await s.domain()
  const alice = await user(s, d, 2, 'Alice')
  const bob = await user(s, d, 3, 'Bob')
  const carol = await user(s, d, 4, 'Carol')
  const blocks = `/api/v1/domains/${d.id}/users/3/blocks/2`
  // only Bob (or the domain) may block for Bob
  assert.equal((await s.api('PUT', blocks, undefined, alice.token)).status, 403)
  const put = await s.api('PUT', blocks, undefined, bob.token)
  assert.equal(put.status, 204)

  const refused = await send(d, alice, 3, 'let me in')
  assert.deepEqual(refused.error.code, 'blocked')
  const api = await s.api('POST', `/api/v1/domains/${d.id}/messages`, { from_userid: 2, to_userid: 3, message: 'via the api', type: 0 }, d.apiKey)
  assert.equal(api.status, 403)
  assert.equal(api.body.error.code, 'blocked')
  await request(d, alice, 'typing', { to_userid: 3 })
  // Bob still hears from others, and Alice still talks to others
  assert.ok((await send(d, alice, 4, 'hi carol')).event)
  await request(d, carol, 'typing', { to_userid: 3 })
  await bob.inbox.next((m) => m.topic.endsWith('/signal') && m.payload.from_userid === 4, 'carol typing')
  assert.equal(bob.inbox.on(`chat/${d.id}/3/signal`).filter((m) => m.payload.from_userid === 2).length, 0)
  assert.equal(bob.inbox.on(`chat/${d.id}/3/inbox`).length, 0)
  const hist = await s.api('GET', `/api/v1/domains/${d.id}/messages?userid=3&peer=2`, undefined, d.apiKey)
  assert.deepEqual(hist.body.messages, [])
  // Bob may still write to Alice: a block is one way
  assert.ok((await send(d, bob, 2, 'I can still talk')).event)

  assert.equal((await s.api('DELETE', blocks, undefined, bob.token)).status, 204)
  assert.ok((await send(d, alice, 3, 'thanks')).event)
  await bob.inbox.next((m) => m.topic.endsWith('/inbox'), 'the message after unblocking')
})
