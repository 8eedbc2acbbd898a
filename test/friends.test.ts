// Friends (SPEC §10.3), as users see them with mqtt.js and their tokens: the list, made and
// unmade by the domain's server; in a domain whose contacts are friends, messages, typing and
// presence reach friends only; a domain open to everyone is as it was.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { PresenceFilter } from '../src/broker/presence-filter.ts'
import { presenceUserOf } from '../src/broker/topics.ts'
import { createLogger } from '../src/log.ts'
import { subackCodes } from './helpers/mqtt.ts'
import { Inbox, startServer, type TestServer } from './helpers/server.ts'
import { send, user, type User } from './helpers/users.ts'

type Domain = { id: string, apiKey: string }

/** Resolves once the server has handled it (its PUBACK: typing is relayed, a status published). */
async function publish (d: Domain, from: User, leaf: 'typing' | 'status', body: object): Promise<void> {
  await from.client.publishAsync(`chat/${d.id}/${from.id}/${leaf}`, JSON.stringify(body), { qos: 1 })
}

const friendsOf = async (s: TestServer, d: Domain, userid: number, key: string) => {
  const r = await s.api('GET', `/api/v1/domains/${d.id}/users/${userid}/friends`, undefined, key)
  assert.equal(r.status, 200, JSON.stringify(r.body))
  return r.body.friends
}

const befriend = async (s: TestServer, d: Domain, a: number, b: number, yes = true) => {
  const r = await s.api(yes ? 'PUT' : 'DELETE', `/api/v1/domains/${d.id}/users/${a}/friends/${b}`, undefined, d.apiKey)
  assert.equal(r.status, 204, JSON.stringify(r.body))
}

const setContacts = async (s: TestServer, d: Domain, contacts: string) => {
  const r = await s.api('PATCH', `/api/v1/domains/${d.id}`, { contacts }, d.apiKey)
  assert.equal(r.status, 200, JSON.stringify(r.body))
  assert.equal(r.body.contacts, contacts)
}

test('presence filter: whose presence each connected user may see, as friendships and the setting change', async () => {
  for (const [topic, user] of [['chat/acme/7/presence', 7], ['chat/acme/+/presence', null], ['chat/acme/7/inbox', null], ['chat/beta/7/presence', null], ['chat/acme/x/presence', null]] as const) {
    assert.equal(presenceUserOf(topic, 'acme'), user, topic)
  }
  const friends = new Map<number, number[]>([[1, [2]], [2, [1]], [3, []]])
  const pending: Array<() => void> = []
  let hold = false
  const gained: Array<[number, number[]]> = []
  const f = new PresenceFilter(async (_d, u) => {
    const answer = [...(friends.get(u) ?? [])]
    if (hold) await new Promise<void>((resolve) => pending.push(resolve))
    return answer
  }, createLogger('silent'), (_d, u, ids) => gained.push([u, ids]))

  // open to everyone: nothing filtered, nothing read
  await f.connected('acme', 1, 'everyone', f.changeCount)
  assert.deepEqual([f.filters('acme'), f.allows('acme', 1, 3)], [false, true])
  // friends only: each connected user reads its friends; itself always allowed
  await f.contactsChanged('acme', 'friends')
  await f.connected('acme', 3, 'friends', f.changeCount)
  const table = [[1, 2, true], [1, 3, false], [1, 1, true], [3, 1, false], [3, 3, true], [2, 1, false]] as const
  for (const [me, other, ok] of table) assert.equal(f.allows('acme', me, other), ok, `${me} sees ${other}`)
  assert.deepEqual(gained, [], 'a first read tells nothing')
  // 1 and 3 become friends: both read again, and each is told of its new friend
  friends.set(1, [2, 3]); friends.set(3, [1])
  await f.friendsChanged('acme', [1, 3])
  assert.deepEqual([f.allows('acme', 1, 3), f.allows('acme', 3, 1)], [true, true])
  assert.deepEqual(gained, [[1, [3]], [3, [1]]])
  // two reads in flight: the older answer, arriving last, does not win
  hold = true
  friends.set(1, [2])
  const older = f.friendsChanged('acme', [1])
  friends.set(1, [])
  const newer = f.friendsChanged('acme', [1])
  pending[1]!(); await newer
  pending[0]!(); await older
  assert.deepEqual([f.allows('acme', 1, 2), f.allows('acme', 1, 3)], [false, false], 'the newest read holds')
  hold = false
  // a connect that read the domain before a change does not undo it
  const seen = f.changeCount
  await f.contactsChanged('acme', 'everyone')
  await f.connected('acme', 4, 'friends', seen)
  assert.equal(f.filters('acme'), false)
  // another domain is its own; a user gone from this node is nobody's
  assert.equal(f.filters('beta'), false)
  f.disconnected('acme', 1); f.disconnected('acme', 3); f.disconnected('acme', 4)
  await f.contactsChanged('acme', 'friends')
  assert.equal(f.allows('acme', 1, 2), false, 'not connected here: no set, nobody seen')
})

test('friends are made and unmade both ways by the domain key, listed with profile and presence, each user reading its own', async (t) => {
  const s = await startServer(t)
  const d = await s.domain()
  const other = await s.domain()
  const alice = await user(s, d, 2, 'Alice')
  const bob = await user(s, d, 3, 'Bob')
  await s.api('PUT', `/api/v1/domains/${d.id}/users/4`, { name: 'Carol', avatar: 'https://img.test/c.png' }, d.apiKey)

  assert.deepEqual(await friendsOf(s, d, 2, alice.token), [])
  await befriend(s, d, 2, 3)
  await befriend(s, d, 4, 2)
  await befriend(s, d, 3, 2) // already friends: still 204, nothing changes
  const mine = await friendsOf(s, d, 2, alice.token)
  assert.deepEqual(mine.map((u: any) => [u.userid, u.name, u.status]), [[3, 'Bob', 'online'], [4, 'Carol', 'offline']])
  assert.deepEqual(Object.keys(mine[0]).sort(), ['avatar', 'link', 'name', 'status', 'timestamp', 'userid'])
  assert.equal(mine[1].avatar, 'https://img.test/c.png')
  assert.deepEqual((await friendsOf(s, d, 3, bob.token)).map((u: any) => [u.userid, u.name]), [[2, 'Alice']], 'mutual')
  assert.deepEqual((await friendsOf(s, d, 4, d.apiKey)).map((u: any) => u.userid), [2], 'the domain key reads anyone\'s')

  // a user's token reads only its own list and makes no friends
  const peek = await s.api('GET', `/api/v1/domains/${d.id}/users/3/friends`, undefined, alice.token)
  assert.deepEqual([peek.status, peek.body.error.code], [403, 'forbidden'])
  const self = await s.api('PUT', `/api/v1/domains/${d.id}/users/2/friends/5`, undefined, alice.token)
  assert.deepEqual([self.status, self.body.error.code], [403, 'forbidden'])
  // another domain's key finds nothing here
  assert.equal((await s.api('GET', `/api/v1/domains/${d.id}/users/2/friends`, undefined, other.apiKey)).status, 404)
  assert.equal((await s.api('PUT', `/api/v1/domains/${d.id}/users/2/friends/5`, undefined, other.apiKey)).status, 404)

  // bad input: a clear 400, nothing made
  const itself = await s.api('PUT', `/api/v1/domains/${d.id}/users/2/friends/2`, undefined, d.apiKey)
  assert.deepEqual([itself.status, itself.body.error.code], [400, 'invalid_request'])
  assert.match(itself.body.error.message, /own friend/)
  for (const peer of ['abc', '0', '1.5', '-3', '9007199254740992']) {
    const r = await s.api('PUT', `/api/v1/domains/${d.id}/users/2/friends/${peer}`, undefined, d.apiKey)
    assert.deepEqual([r.status, r.body.error.code], [400, 'invalid_request'], peer)
    assert.match(r.body.error.message, /peer/, peer)
  }
  assert.deepEqual((await friendsOf(s, d, 2, d.apiKey)).map((u: any) => u.userid), [3, 4])

  // unmade from either side: gone both ways
  await befriend(s, d, 3, 2, false)
  assert.deepEqual((await friendsOf(s, d, 2, alice.token)).map((u: any) => u.userid), [4])
  assert.deepEqual(await friendsOf(s, d, 3, bob.token), [])
  await befriend(s, d, 3, 2, false) // not friends: still 204

  // the domain's setting: everyone by default, friends by PATCH, nothing else
  assert.equal((await s.api('GET', `/api/v1/domains/${d.id}`, undefined, d.apiKey)).body.contacts, 'everyone')
  const bad = await s.api('PATCH', `/api/v1/domains/${d.id}`, { contacts: 'nobody' }, d.apiKey)
  assert.deepEqual([bad.status, bad.body.error.code], [400, 'invalid_request'])
  assert.match(bad.body.error.message, /contacts/)
  await setContacts(s, d, 'friends')
  assert.equal((await s.api('GET', `/api/v1/domains/${d.id}`, undefined, d.apiKey)).body.contacts, 'friends')

  // erasing a user ends its friendships
  assert.equal((await s.api('DELETE', `/api/v1/domains/${d.id}/users/4`, undefined, d.apiKey)).status, 204)
  assert.deepEqual(await friendsOf(s, d, 2, alice.token), [])
})

test('in a friends-only domain, a message or typing to a non-friend is refused (forbidden) and leaves nothing; friends talk as before', async (t) => {
  const s = await startServer(t)
  const d = await s.domain()
  const alice = await user(s, d, 2, 'Alice')
  const bob = await user(s, d, 3, 'Bob')
  const carol = await user(s, d, 4, 'Carol')
  const dave = await user(s, d, 5, 'Dave')
  await setContacts(s, d, 'friends')
  await befriend(s, d, 2, 3)
  await befriend(s, d, 4, 5)

  const ok = await send(d, alice, 3, 'hi bob')
  assert.equal(ok.event.message.message, 'hi bob')
  await bob.inbox.next((m) => m.topic.endsWith('/inbox') && m.payload.message.message === 'hi bob', 'bob gets alice\'s message')
  const refused = await send(d, alice, 4, 'hi stranger')
  assert.deepEqual(refused.error, { code: 'forbidden', message: 'user 4 is not your friend' })
  assert.equal(refused.event, undefined)
  const api = await s.api('POST', `/api/v1/domains/${d.id}/messages`, { from_userid: 2, to_userid: 4, message: 'via the api', type: 0 }, d.apiKey)
  assert.deepEqual([api.status, api.body.error.code], [403, 'forbidden'])
  assert.match(api.body.error.message, /not your friend/)
  assert.ok((await send(d, alice, 2, 'a note to myself')).event, 'a note to self is always allowed')

  // typing: to a friend relayed, to a non-friend not (Dave's notice comes after Alice's)
  await publish(d, alice, 'typing', { to_userid: 4 })
  await publish(d, dave, 'typing', { to_userid: 4 })
  await carol.inbox.next((m) => m.topic.endsWith('/signal') && m.payload.from_userid === 5, 'dave typing')
  await publish(d, alice, 'typing', { to_userid: 3 })
  await bob.inbox.next((m) => m.topic.endsWith('/signal') && m.payload.kind === 'typing' && m.payload.from_userid === 2, 'alice typing to bob')
  assert.equal(carol.inbox.on(`chat/${d.id}/4/signal`).filter((m) => m.payload.from_userid === 2).length, 0, 'no typing from a non-friend')

  // nothing of the refused ones anywhere
  assert.equal(carol.inbox.on(`chat/${d.id}/4/inbox`).length, 0)
  assert.deepEqual((await s.api('GET', `/api/v1/domains/${d.id}/messages?userid=4`, undefined, d.apiKey)).body.messages, [])
  assert.deepEqual((await s.api('GET', `/api/v1/domains/${d.id}/users/4/conversations`, undefined, carol.token)).body.conversations, [])

  // unfriended: refused from then on, both ways; befriended: through
  await befriend(s, d, 3, 2, false)
  assert.equal((await send(d, bob, 2, 'still there?')).error.code, 'forbidden')
  await befriend(s, d, 2, 4)
  assert.ok((await send(d, alice, 4, 'friends now')).event)
  await carol.inbox.next((m) => m.topic.endsWith('/inbox') && m.payload.message.message === 'friends now', 'carol gets it')

  // open to everyone again: anyone may write to anyone
  await setContacts(s, d, 'everyone')
  assert.ok((await send(d, bob, 2, 'open again')).event)
  await publish(d, bob, 'typing', { to_userid: 5 })
  await dave.inbox.next((m) => m.topic.endsWith('/signal') && m.payload.from_userid === 3, 'bob typing to dave')
})

test('in a friends-only domain, presence shows only friends: on the wildcard, on one user\'s topic, and as friendships and the setting change', async (t) => {
  const s = await startServer(t)
  const d = await s.domain()
  const bob = await user(s, d, 3, 'Bob')
  const carol = await user(s, d, 4, 'Carol')
  await befriend(s, d, 2, 3)
  const alice = await user(s, d, 2, 'Alice')
  await alice.client.subscribeAsync(`chat/${d.id}/+/presence`, { qos: 1 })
  const seen = (userid: number) => alice.inbox.received.filter((m) => m.topic === `chat/${d.id}/${userid}/presence`).map((m) => m.payload.status)
  // open to everyone: the wildcard gives everyone present
  await alice.inbox.next((m) => m.topic === `chat/${d.id}/4/presence`, 'carol\'s presence while open to everyone')
  await alice.inbox.next((m) => m.topic === `chat/${d.id}/3/presence`, 'bob\'s presence')

  await setContacts(s, d, 'friends')
  const carolBefore = seen(4).length
  await publish(d, carol, 'status', { status: 'away' })
  await publish(d, bob, 'status', { status: 'busy' })
  await alice.inbox.next((m) => m.topic === `chat/${d.id}/3/presence` && m.payload.status === 'busy', 'bob is busy: a friend')
  assert.equal(seen(4).length, carolBefore, 'nothing of carol: not a friend')

  // a new subscriber: the wildcard's retained presence is its friends' (and its own) only
  const tab2 = await s.connect(d, 2)
  const inbox2 = new Inbox(tab2)
  assert.deepEqual(await subackCodes(tab2, [`chat/${d.id}/+/presence`, `chat/${d.id}/4/presence`, `chat/${d.id}/3/presence`]), [1, 0x80, 1],
    'one non-friend\'s topic is refused')
  await inbox2.next((m) => m.topic === `chat/${d.id}/3/presence` && m.payload.status === 'busy', 'bob, retained')
  await inbox2.next((m) => m.topic === `chat/${d.id}/2/presence`, 'its own, retained')
  // an event that comes after everything retained: bob's next change
  await publish(d, bob, 'status', { status: 'online' })
  await inbox2.next((m) => m.topic === `chat/${d.id}/3/presence` && m.payload.status === 'online' && !m.retain, 'bob online')
  assert.deepEqual(inbox2.received.filter((m) => m.topic === `chat/${d.id}/4/presence`), [], 'carol present, yet not shown')

  // befriended: carol's presence comes at once, as on subscribing, and her changes after it;
  // unfriended: bob's stop
  await befriend(s, d, 4, 2)
  await alice.inbox.next((m) => m.topic === `chat/${d.id}/4/presence` && m.payload.status === 'away' && seen(4).length > carolBefore, 'carol away, a new friend')
  await publish(d, carol, 'status', { status: 'busy' })
  await alice.inbox.next((m) => m.topic === `chat/${d.id}/4/presence` && m.payload.status === 'busy', 'carol busy, now a friend')
  await befriend(s, d, 2, 3, false)
  const bobBefore = seen(3).length
  await publish(d, bob, 'status', { status: 'away' })
  await publish(d, carol, 'status', { status: 'online' })
  await alice.inbox.next((m) => m.topic === `chat/${d.id}/4/presence` && m.payload.status === 'online', 'carol online')
  assert.equal(seen(3).length, bobBefore, 'nothing of bob once unfriended')

  // open to everyone again: everyone's presence, on the subscription already held
  await setContacts(s, d, 'everyone')
  await publish(d, bob, 'status', { status: 'busy' })
  await alice.inbox.next((m) => m.topic === `chat/${d.id}/3/presence` && m.payload.status === 'busy' && seen(3).length > bobBefore, 'bob again')
})

test('with a user\'s token in a friends-only domain, the user list, the presence list and profiles show only itself and its friends', async (t) => {
  const s = await startServer(t)
  const d = await s.domain()
  const alice = await user(s, d, 2, 'Alice')
  await user(s, d, 3, 'Bob')
  await user(s, d, 4, 'Carol')
  await s.api('PUT', `/api/v1/domains/${d.id}/users/5`, { name: 'Dave' }, d.apiKey)
  await befriend(s, d, 2, 3)
  await befriend(s, d, 2, 5)
  const base = `/api/v1/domains/${d.id}`
  const ids = async (path: string, key: string, field = 'users') => {
    const r = await s.api('GET', `${base}${path}`, undefined, key)
    assert.equal(r.status, 200, JSON.stringify(r.body))
    return r.body[field].map((u: any) => u.userid)
  }
  // open to everyone: everyone
  assert.deepEqual(await ids('/users', alice.token), [2, 3, 4, 5])
  await setContacts(s, d, 'friends')
  assert.deepEqual(await ids('/users', alice.token), [2, 3, 5])
  assert.deepEqual(await ids('/users?status=online', alice.token), [2, 3], 'online: herself and Bob, not Carol')
  const page = await s.api('GET', `${base}/users?limit=2`, undefined, alice.token)
  assert.deepEqual([page.body.users.map((u: any) => u.userid), page.body.next], [[2, 3], 3])
  assert.deepEqual(await ids('/users?after=3&limit=2', alice.token), [5])
  assert.deepEqual(await ids('/presence?status=online', alice.token), [2, 3])
  assert.equal((await s.api('GET', `${base}/users/3`, undefined, alice.token)).body.name, 'Bob')
  const carol = await s.api('GET', `${base}/users/4`, undefined, alice.token)
  assert.deepEqual([carol.status, carol.body.error.code], [403, 'forbidden'])
  // the domain key still sees everyone
  assert.deepEqual(await ids('/users', d.apiKey), [2, 3, 4, 5])
  assert.equal((await s.api('GET', `${base}/users/4`, undefined, d.apiKey)).body.name, 'Carol')
})

test('a domain open to everyone is unchanged by friendships: anyone writes to anyone and sees everyone present', async (t) => {
  const s = await startServer(t)
  const d = await s.domain()
  const bob = await user(s, d, 3, 'Bob')
  await user(s, d, 4, 'Carol')
  await befriend(s, d, 2, 3)
  const alice = await user(s, d, 2, 'Alice')
  assert.ok((await send(d, alice, 4, 'hello carol')).event, 'to a non-friend')
  assert.ok((await send(d, bob, 4, 'hello from bob')).event)
  assert.deepEqual(await subackCodes(alice.client, [`chat/${d.id}/+/presence`, `chat/${d.id}/4/presence`]), [1, 1])
  await alice.inbox.next((m) => m.topic === `chat/${d.id}/4/presence` && m.payload.status === 'online', 'a non-friend\'s presence')
  await alice.inbox.next((m) => m.topic === `chat/${d.id}/3/presence` && m.payload.status === 'online', 'a friend\'s presence')
})
