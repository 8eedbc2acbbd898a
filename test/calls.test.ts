// Calls (SPEC §10.2) as clients see them with mqtt.js: the signals of a call relayed between
// two users (the client's `kind` becomes `type`), refused with an ack error where they may not
// go, never stored; each call's type 5 records stored, delivered and called back like any
// message; and GET …/ice. The browser side is test/calls-browser.test.ts.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { test } from 'node:test'
import { FAST_ENV, withCallback } from './helpers/callbacks.ts'
import { expectStatus } from './helpers/rest.ts'
import { startServer, type TestServer } from './helpers/server.ts'
import { send, user, type User } from './helpers/users.ts'
import { waitFor } from './helpers/wait.ts'

type Domain = { id: string, apiKey: string }

let seq = 0
/** Publishes a call signal as `from`; resolves once the server has handled it (its PUBACK). */
async function signal (d: Domain, from: User, body: Record<string, unknown>): Promise<void> {
  await from.client.publishAsync(`chat/${d.id}/${from.id}/call`, JSON.stringify(body), { qos: 1 })
}

/** The call signals `u` got, in order (as `type`s, with who they came from). */
const callSignals = (d: Domain, u: User): any[] =>
  u.inbox.on(`chat/${d.id}/${u.id}/signal`).map((m) => m.payload).filter((p) => p.kind === 'call')

const nextSignal = async (d: Domain, u: User, type: string, call: string): Promise<any> =>
  (await u.inbox.next((m) => m.topic === `chat/${d.id}/${u.id}/signal` && m.payload.kind === 'call' && m.payload.type === type && m.payload.call === call, `${type} of ${call} for ${u.id}`)).payload

const ackOf = async (d: Domain, u: User, cid: string): Promise<any> =>
  (await u.inbox.next((m) => m.topic === `chat/${d.id}/${u.id}/ack` && m.payload.cid === cid, `ack ${cid}`)).payload

/** The type 5 records between 2 and 3, oldest first, as the history gives them. */
async function records (s: TestServer, d: Domain): Promise<any[]> {
  const r = await s.api('GET', `/api/v1/domains/${d.id}/messages?userid=2&peer=3`, undefined, d.apiKey)
  assert.equal(r.status, 200)
  return (r.body.messages as any[]).filter((m) => m.message.type === 5).reverse()
}

const SDP = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n'
const CANDIDATE = { candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host', sdpMid: '0', sdpMLineIndex: 0, usernameFragment: 'ab12' }

async function pair (s: TestServer, d: Domain): Promise<[User, User]> {
  return [await user(s, d, 2, 'Ada'), await user(s, d, 3, 'Bob')]
}

test('a video call: offer, candidates, answer and hang-up reach the peer; started and ended are stored, delivered and called back', async (t) => {
  const { s, d, rx } = await withCallback(t)
  const [ada, bob] = await pair(s, d)
  const call = `c-${++seq}`
  await signal(d, ada, { to_userid: 3, call, kind: 'offer', sdp: SDP, video: true, cid: 'o1' })
  assert.deepEqual(await nextSignal(d, bob, 'offer', call), { kind: 'call', from_userid: 2, call, type: 'offer', sdp: SDP, video: true })
  await signal(d, ada, { to_userid: 3, call, kind: 'ice', candidate: CANDIDATE })
  assert.deepEqual((await nextSignal(d, bob, 'ice', call)).candidate, CANDIDATE)
  await signal(d, bob, { to_userid: 2, call, kind: 'ice', candidate: { ...CANDIDATE, sdpMid: null, sdpMLineIndex: null } })
  await nextSignal(d, ada, 'ice', call)
  assert.deepEqual(await records(s, d), [], 'nothing recorded while it rings')

  await signal(d, bob, { to_userid: 2, call, kind: 'answer', sdp: SDP })
  assert.deepEqual(await nextSignal(d, ada, 'answer', call), { kind: 'call', from_userid: 3, call, type: 'answer', sdp: SDP })
  // started: a message from the caller to the callee, in the callee's inbox
  const started = await bob.inbox.next((m) => m.topic.endsWith('/inbox') && m.payload.message.type === 5, 'the started record')
  assert.equal(started.payload.from_userid, 2)
  assert.equal(started.payload.to_userid, 3)
  assert.deepEqual([started.payload.message.message, started.payload.message.p1, started.payload.message.p2, started.payload.message.p3], ['started', call, 'video', ''])

  await signal(d, ada, { to_userid: 3, call, kind: 'hangup' })
  await nextSignal(d, bob, 'hangup', call)
  const rows = await waitFor(async () => { const r = await records(s, d); return r.length === 2 ? r : null }, 'started and ended stored')
  assert.deepEqual(rows.map((m) => [m.from_userid, m.to_userid, m.message.message, m.message.p1, m.message.p2]), [[2, 3, 'started', call, 'video'], [2, 3, 'ended', call, 'video']])
  assert.match(rows[1].message.p3, /^\d+$/, 'the length in whole seconds')
  assert.ok(Number(rows[1].message.p3) <= 5)
  // called back as any message, in order, with the fixed body
  const got = await rx.count(2)
  assert.deepEqual(got.map((r) => r.json), rows)
  // no signal was stored or called back: only the two records
  assert.equal(rx.requests.length, 2)
  // the caller's own tabs have them too, as messages the server sent for it: on its ack, no cid
  const own = (): unknown[] => ada.inbox.on(`chat/${d.id}/2/ack`).map((m) => m.payload as { cid: unknown, event?: unknown }).filter((a) => a.cid === null).map((a) => a.event)
  await waitFor(() => own().length === 2, 'the records on the caller\'s ack')
  assert.deepEqual(own(), rows)
  assert.deepEqual(ada.inbox.on(`chat/${d.id}/2/inbox`), [], 'nothing in the caller\'s inbox: it holds messages to it')
  // nothing refused along the way
  const errors = (topic: string, who: typeof ada): unknown[] => who.inbox.on(topic).filter((m) => (m.payload as { error?: unknown }).error !== undefined)
  assert.deepEqual(errors(`chat/${d.id}/2/ack`, ada).concat(errors(`chat/${d.id}/3/ack`, bob)), [])
  assert.equal(s.app.chat.calls.size, 0, 'the call is forgotten')
})

test('a declined call and one nobody answers are missed; an unanswered one is hung up for both sides', async (t) => {
  const s = await startServer(t, { callRingMs: 1500 })
  const d = await s.domain()
  const [ada, bob] = await pair(s, d)
  await signal(d, ada, { to_userid: 3, call: 'declined', kind: 'offer', sdp: SDP })
  await nextSignal(d, bob, 'offer', 'declined')
  await signal(d, bob, { to_userid: 2, call: 'declined', kind: 'decline' })
  await nextSignal(d, ada, 'decline', 'declined')
  const t0 = Date.now()
  await signal(d, ada, { to_userid: 3, call: 'unanswered', kind: 'offer', sdp: SDP })
  // the server hangs up for both after the ring time, as if the other side had
  assert.deepEqual(await nextSignal(d, ada, 'hangup', 'unanswered'), { kind: 'call', from_userid: 3, call: 'unanswered', type: 'hangup' })
  assert.deepEqual(await nextSignal(d, bob, 'hangup', 'unanswered'), { kind: 'call', from_userid: 2, call: 'unanswered', type: 'hangup' })
  assert.ok(Date.now() - t0 >= 1400, `rang its time (${Date.now() - t0} ms)`)
  const rows = await waitFor(async () => { const r = await records(s, d); return r.length === 2 ? r : null }, 'two missed records')
  assert.deepEqual(rows.map((m) => [m.message.message, m.message.p1, m.message.p2, m.message.p3]), [['missed', 'declined', 'audio', ''], ['missed', 'unanswered', 'audio', '']])
  // The caller giving up while it rings: missed too.
  await signal(d, ada, { to_userid: 3, call: 'given-up', kind: 'offer', sdp: SDP })
  await signal(d, ada, { to_userid: 3, call: 'given-up', kind: 'hangup' })
  await nextSignal(d, bob, 'hangup', 'given-up')
  await waitFor(async () => (await records(s, d)).at(-1)?.message.p1 === 'given-up', 'given-up missed')
  assert.equal((await records(s, d)).at(-1).message.message, 'missed')
})

test('a side whose last connection is lost ends the call: the other side is hung up, the record says ended', async (t) => {
  const s = await startServer(t)
  const d = await s.domain()
  const [ada, bob] = await pair(s, d)
  await signal(d, ada, { to_userid: 3, call: 'dropped', kind: 'offer', sdp: SDP, video: false })
  await nextSignal(d, bob, 'offer', 'dropped')
  await signal(d, bob, { to_userid: 2, call: 'dropped', kind: 'answer', sdp: SDP })
  await nextSignal(d, ada, 'answer', 'dropped')
  bob.client.stream.destroy() // the link drops, no goodbye
  assert.deepEqual(await nextSignal(d, ada, 'hangup', 'dropped'), { kind: 'call', from_userid: 3, call: 'dropped', type: 'hangup' })
  const rows = await waitFor(async () => { const r = await records(s, d); return r.length === 2 ? r : null }, 'started and ended')
  assert.deepEqual(rows.map((m) => [m.message.message, m.message.p2]), [['started', 'audio'], ['ended', 'audio']])
  // the record reached the callee's inbox when it came back: its catch-up has it
  const back = await user(s, d, 3, 'Bob')
  await back.client.publishAsync(`chat/${d.id}/3/history`, JSON.stringify({ peer: 2, cid: 'h' }), { qos: 1 })
  const page = (await ackOf(d, back, 'h')).messages
  assert.deepEqual(page.filter((m: any) => m.message.type === 5).map((m: any) => m.message.message), ['ended', 'started'])
})

test('an erased user\'s call ends without a record; the peer is hung up', async (t) => {
  const { s, d, rx } = await withCallback(t)
  const [ada, bob] = await pair(s, d)
  await signal(d, ada, { to_userid: 3, call: 'erased', kind: 'offer', sdp: SDP })
  await nextSignal(d, bob, 'offer', 'erased')
  await signal(d, bob, { to_userid: 2, call: 'erased', kind: 'answer', sdp: SDP })
  await nextSignal(d, ada, 'answer', 'erased')
  await waitFor(async () => (await records(s, d)).length === 1, 'started')
  await expectStatus('erase', s.api('DELETE', `/api/v1/domains/${d.id}/users/3`, undefined, d.apiKey), 204)
  await nextSignal(d, ada, 'hangup', 'erased')
  assert.deepEqual(await records(s, d), [], 'nothing of Bob is left')
  assert.equal(s.app.chat.calls.size, 0)
  // No `ended` was written for the erased call: a message Ada sends now is called back after
  // anything of hers written before it (in order per sender), and only `started` came.
  await send(d, ada, 4, 'after the erasure')
  await waitFor(() => rx.requests.some((r) => r.json?.message?.message === 'after the erasure'), 'the message after the erasure')
  assert.deepEqual(rx.requests.filter((r) => r.json?.message?.type === 5).map((r) => r.json.message.message), ['started'])
})

test('a server that stops cleanly during a call ends it: the record says ended', async (t) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqchat-calls-'))
  t.after(() => fs.rmSync(dataDir, { recursive: true, force: true }))
  const s = await startServer(t, {}, { MQCHAT_DATA_DIR: dataDir })
  const d = await s.domain()
  const [ada, bob] = await pair(s, d)
  await signal(d, ada, { to_userid: 3, call: 'stopped', kind: 'offer', sdp: SDP })
  await nextSignal(d, bob, 'offer', 'stopped')
  await signal(d, bob, { to_userid: 2, call: 'stopped', kind: 'answer', sdp: SDP })
  await nextSignal(d, ada, 'answer', 'stopped')
  await s.app.stop() // (SIGTERM's path: its users go offline, their calls end)
  const again = await startServer(t, {}, { MQCHAT_DATA_DIR: dataDir })
  assert.deepEqual((await records(again, d)).map((m) => [m.message.message, m.message.p1]), [['started', 'stopped'], ['ended', 'stopped']])
})

test('refused signals: a blocked caller, a non-friend in a friends-only domain, bad input, a flood; an ack error each, nothing relayed', async (t) => {
  const s = await startServer(t)
  const d = await s.domain()
  const [ada, bob] = await pair(s, d)
  // Bob blocks Ada: her offer is refused, his signals to her still go (she did not block him).
  await expectStatus('block', s.api('PUT', `/api/v1/domains/${d.id}/users/3/blocks/2`, undefined, d.apiKey), 204)
  await signal(d, ada, { to_userid: 3, call: 'b1', kind: 'offer', sdp: SDP, cid: 'blocked' })
  assert.equal((await ackOf(d, ada, 'blocked')).error.code, 'blocked')
  await expectStatus('unblock', s.api('DELETE', `/api/v1/domains/${d.id}/users/3/blocks/2`, undefined, d.apiKey), 204)

  // Friends only: Ada and Bob are not friends, then they are.
  await expectStatus('contacts', s.api('PATCH', `/api/v1/domains/${d.id}`, { contacts: 'friends' }, d.apiKey), 200)
  await signal(d, ada, { to_userid: 3, call: 'f1', kind: 'offer', sdp: SDP, cid: 'not-friends' })
  assert.equal((await ackOf(d, ada, 'not-friends')).error.code, 'forbidden')
  await expectStatus('friends', s.api('PUT', `/api/v1/domains/${d.id}/users/2/friends/3`, undefined, d.apiKey), 204)
  await signal(d, ada, { to_userid: 3, call: 'f2', kind: 'offer', sdp: SDP, cid: 'friends' })
  await nextSignal(d, bob, 'offer', 'f2')
  await signal(d, ada, { to_userid: 3, call: 'f2', kind: 'hangup' })

  const bad: Array<[string | Record<string, unknown>, string, RegExp]> = [
    [{ to_userid: 3, call: 'x', kind: 'offer', cid: 'no-sdp' }, 'no-sdp', /missing field "sdp"/],
    [{ to_userid: 3, call: 'x', kind: 'ice', cid: 'no-candidate' }, 'no-candidate', /missing field "candidate"/],
    [{ to_userid: 2, call: 'x', kind: 'offer', sdp: SDP, cid: 'self' }, 'self', /cannot call itself/],
    [{ to_userid: 3, call: 'x', kind: 'offer', sdp: 'x'.repeat(16 * 1024 + 1), cid: 'big' }, 'big', /sdp must NOT have more than 16384 characters/],
    [{ to_userid: 3, call: 'x', kind: 'ring', cid: 'kind' }, 'kind', /kind must be one of/],
    [{ to_userid: 3, call: 'x', kind: 'hangup', type: 'hangup', cid: 'extra' }, 'extra', /unknown field "type"/]
  ]
  for (const [body, cid, want] of bad) {
    await signal(d, ada, body as Record<string, unknown>)
    const a = await ackOf(d, ada, cid)
    assert.equal(a.error.code, 'invalid_request', cid)
    assert.match(a.error.message, want, cid)
  }
  await ada.client.publishAsync(`chat/${d.id}/2/call`, 'not json', { qos: 1 })
  await ada.inbox.next((m) => m.topic.endsWith('/ack') && m.payload.error?.code === 'invalid_json', 'invalid_json')
  // Only the friends' call reached Bob.
  assert.deepEqual(callSignals(d, bob).map((p) => `${p.type} ${p.call}`), ['offer f2', 'hangup f2'])

  // A flood: 50 a second; beyond, rate_limited (with the signal's cid).
  const flood = Array.from({ length: 80 }, (_, i) => signal(d, ada, { to_userid: 3, call: 'f2', kind: 'ice', candidate: CANDIDATE, cid: `ice-${i}` }))
  await Promise.all(flood)
  const refused = (): number => ada.inbox.received.filter((m) => m.topic.endsWith('/ack') && m.payload.error?.code === 'rate_limited' && String(m.payload.cid).startsWith('ice-')).length
  await waitFor(() => refused() >= 20, 'rate_limited acks')
  const relayed = callSignals(d, bob).filter((p) => p.type === 'ice').length
  assert.ok(relayed <= 60 && relayed + refused() <= 80, `${relayed} relayed, ${refused()} refused of 80`)
  // and the server is still there for everyone
  await signal(d, bob, { to_userid: 2, call: 'after', kind: 'hangup' })
  await nextSignal(d, ada, 'hangup', 'after')
})

test('each call counts as a message towards MQCHAT_USER_RATE (it leaves a record); a renegotiating offer does not', async (t) => {
  const s = await startServer(t, {}, { MQCHAT_USER_RATE: '2/1m,burst=2' })
  const d = await s.domain()
  const [ada, bob] = await pair(s, d)
  for (const call of ['r1', 'r2']) {
    await signal(d, ada, { to_userid: 3, call, kind: 'offer', sdp: SDP })
    await nextSignal(d, bob, 'offer', call)
  }
  // the same call again (an ICE restart, say) is not a new call
  await signal(d, ada, { to_userid: 3, call: 'r1', kind: 'offer', sdp: SDP, cid: 'again' })
  await signal(d, ada, { to_userid: 3, call: 'r3', kind: 'offer', sdp: SDP, cid: 'third' })
  assert.equal((await ackOf(d, ada, 'third')).error.code, 'rate_limited')
  assert.deepEqual(callSignals(d, bob).map((p) => `${p.type} ${p.call}`), ['offer r1', 'offer r2', 'offer r1'])
  assert.equal(ada.inbox.received.some((m) => m.payload?.cid === 'again'), false)
})

test('GET …/ice: the setting as given, TURN credentials made for the user and valid an hour; a user asks for its own only', async (t) => {
  const s = await startServer(t, {}, {
    ...FAST_ENV,
    MQCHAT_ICE_SERVERS: JSON.stringify([{ urls: 'stun:stun.example.com:3478' }, { urls: ['turn:turn.example.com:3478?transport=udp', 'turns:turn.example.com:5349'] }]),
    MQCHAT_TURN_SECRET: 'north'
  })
  const d = await s.domain()
  const token = await s.token(d, 3601)
  const before = Math.floor(Date.now() / 1000)
  const res = await fetch(`${s.httpUrl}/api/v1/domains/${d.id}/users/3601/ice`, { headers: { authorization: `Bearer ${token}` } })
  assert.equal(res.status, 200)
  assert.equal(res.headers.get('cache-control'), 'no-store')
  const [stun, turn] = ((await res.json()) as { iceServers: any[] }).iceServers
  assert.deepEqual(stun, { urls: 'stun:stun.example.com:3478' })
  assert.deepEqual(turn.urls, ['turn:turn.example.com:3478?transport=udp', 'turns:turn.example.com:5349'])
  const [expiry, userid] = turn.username.split(':')
  assert.equal(userid, '3601')
  assert.ok(Number(expiry) >= before + 3600 && Number(expiry) <= before + 3602, turn.username)
  const crypto = await import('node:crypto')
  assert.equal(turn.credential, crypto.createHmac('sha1', 'north').update(turn.username).digest('base64'))
  // another user's: 403; the domain key may ask for anyone; no token: 401
  assert.equal((await s.api('GET', `/api/v1/domains/${d.id}/users/2/ice`, undefined, token)).status, 403)
  assert.equal((await s.api('GET', `/api/v1/domains/${d.id}/users/2/ice`, undefined, d.apiKey)).status, 200)
  assert.equal((await fetch(`${s.httpUrl}/api/v1/domains/${d.id}/users/2/ice`)).status, 401)
  // without the settings: no servers (a call between two browsers that reach each other)
  const plain = await startServer(t)
  const pd = await plain.domain()
  assert.deepEqual((await plain.api('GET', `/api/v1/domains/${pd.id}/users/2/ice`, undefined, pd.apiKey)).body, { iceServers: [] })
})
