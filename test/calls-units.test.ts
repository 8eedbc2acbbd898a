// Calls' pure decisions (SPEC §10.2), as literal tables: the life of a call, the TURN
// credential of coturn's REST scheme, MQCHAT_ICE_SERVERS, and the `call` topic's ACL.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { clientAction, canSubscribe } from '../src/broker/topics.ts'
import { callStep, type CallEvent, type CallPhase, type CallStep } from '../src/chat/call-state.ts'
import { iceServersFor, turnCredential } from '../src/chat/ice.ts'
import { compile, describeValidationError, MqttCall } from '../src/chat/schemas.ts'
import { loadConfig } from '../src/config.ts'
import { SetupError } from '../src/errors.ts'

test('a call\'s life: each event in each phase, the record it leaves and who the server hangs up for', () => {
  const R = (phase: CallPhase, record: CallStep['record'] = null, hangUp: CallStep['hangUp'] = null): CallStep => ({ phase, record, hangUp })
  const table: Array<[CallPhase, CallEvent, CallStep]> = [
    ['ringing', { type: 'offer', by: 'caller' }, R('ringing')],
    ['ringing', { type: 'ice', by: 'caller' }, R('ringing')],
    ['ringing', { type: 'ice', by: 'callee' }, R('ringing')],
    ['ringing', { type: 'answer', by: 'callee' }, R('started', 'started')],
    ['ringing', { type: 'answer', by: 'caller' }, R('ringing')],
    ['ringing', { type: 'decline', by: 'callee' }, R('missed', 'missed')],
    ['ringing', { type: 'hangup', by: 'caller' }, R('missed', 'missed')],
    ['ringing', { type: 'hangup', by: 'callee' }, R('missed', 'missed')],
    ['ringing', { type: 'timeout' }, R('missed', 'missed', 'both')],
    ['ringing', { type: 'lost', by: 'caller' }, R('missed', 'missed', 'callee')],
    ['ringing', { type: 'lost', by: 'callee' }, R('missed', 'missed', 'caller')],
    ['ringing', { type: 'stop' }, R('missed', 'missed', 'both')],
    ['started', { type: 'offer', by: 'callee' }, R('started')],
    ['started', { type: 'answer', by: 'caller' }, R('started')],
    ['started', { type: 'ice', by: 'caller' }, R('started')],
    ['started', { type: 'timeout' }, R('started')],
    ['started', { type: 'hangup', by: 'caller' }, R('ended', 'ended')],
    ['started', { type: 'hangup', by: 'callee' }, R('ended', 'ended')],
    ['started', { type: 'decline', by: 'callee' }, R('ended', 'ended')],
    ['started', { type: 'lost', by: 'caller' }, R('ended', 'ended', 'callee')],
    ['started', { type: 'lost', by: 'callee' }, R('ended', 'ended', 'caller')],
    ['started', { type: 'stop' }, R('ended', 'ended', 'both')],
    ['ended', { type: 'stop' }, R('ended')],
    ['missed', { type: 'answer', by: 'callee' }, R('missed')],
    ['missed', { type: 'timeout' }, R('missed')],
    ['missed', { type: 'lost', by: 'caller' }, R('missed')],
    ['ended', { type: 'hangup', by: 'callee' }, R('ended')],
    ['ended', { type: 'lost', by: 'callee' }, R('ended')]
  ]
  for (const [phase, event, want] of table) assert.deepEqual(callStep(phase, event), want, `${phase} + ${JSON.stringify(event)}`)
})

test('TURN credentials: coturn\'s use-auth-secret scheme, username expiry:userid, base64 HMAC-SHA1, 1 h', () => {
  // Each credential made by another implementation: `printf '%s' 1602515186:3601 | openssl dgst -sha1 -hmac north -binary | base64`.
  const table: Array<[string, number, number, { username: string, credential: string }]> = [
    ['north', 3601, 1602511586_000, { username: '1602515186:3601', credential: 'vD0xLFABWxGxzttRqJE5fE1gfnI=' }],
    ['north', 3601, 1602511586_999, { username: '1602515186:3601', credential: 'vD0xLFABWxGxzttRqJE5fE1gfnI=' }],
    ['north', 2, 1602511586_000, { username: '1602515186:2', credential: 'h9On2mfhrtySFg1o/Jq1O07Kv1E=' }],
    ['another secret', 3601, 0, { username: '3600:3601', credential: 'UHrU7NNUB2pIEgZC+ZKu2ae07gg=' }]
  ]
  for (const [secret, userid, now, want] of table) assert.deepEqual(turnCredential(secret, userid, now), want, `${secret} ${userid} ${now}`)

  const servers = [{ urls: 'stun:stun.example.com:3478' }, { urls: ['turn:turn.example.com:3478?transport=udp', 'turns:turn.example.com:5349'] }]
  assert.deepEqual(iceServersFor(servers, 'north', 3601, 1602511586_000), [
    { urls: 'stun:stun.example.com:3478' },
    { urls: ['turn:turn.example.com:3478?transport=udp', 'turns:turn.example.com:5349'], username: '1602515186:3601', credential: 'vD0xLFABWxGxzttRqJE5fE1gfnI=' }
  ])
  // without the secret, the entries go out as the setting gives them
  const fixed = [{ urls: 'turn:turn.example.com', username: 'u', credential: 'p' }]
  assert.deepEqual(iceServersFor(fixed, null, 3601, 0), fixed)
})

test('MQCHAT_ICE_SERVERS and MQCHAT_TURN_SECRET: valid ones are taken, each bad one is named', () => {
  assert.deepEqual(loadConfig({}).iceServers, [])
  assert.equal(loadConfig({}).turnSecret, null)
  assert.equal(loadConfig({}).callRingMs, 45_000)
  const ok = loadConfig({ MQCHAT_ICE_SERVERS: '[{"urls":"stun:stun.example.com:3478"},{"urls":["turn:t.example.com:3478"]}]', MQCHAT_TURN_SECRET: 's3cret' })
  assert.deepEqual(ok.iceServers, [{ urls: 'stun:stun.example.com:3478' }, { urls: ['turn:t.example.com:3478'] }])
  assert.equal(ok.turnSecret, 's3cret')
  const bad: Array<[Record<string, string>, RegExp]> = [
    [{ MQCHAT_ICE_SERVERS: 'stun:x' }, /^MQCHAT_ICE_SERVERS must be JSON/],
    [{ MQCHAT_ICE_SERVERS: '{"urls":"stun:x"}' }, /^MQCHAT_ICE_SERVERS must be a JSON array/],
    [{ MQCHAT_ICE_SERVERS: '[{"url":"stun:x"}]' }, /^MQCHAT_ICE_SERVERS entry 0 has an unknown field "url"/],
    [{ MQCHAT_ICE_SERVERS: '[{"urls":[]}]' }, /entry 0: "urls" must be a URL or a non-empty array/],
    [{ MQCHAT_ICE_SERVERS: '[{"urls":"stun:a"},{"urls":"http://x"}]' }, /entry 1: "http:\/\/x" is not a stun:, stuns:, turn: or turns: URL/],
    [{ MQCHAT_ICE_SERVERS: '[{"urls":"turn:t.example.com"}]' }, /entry 0: a TURN server needs "username" and "credential", or set MQCHAT_TURN_SECRET/],
    [{ MQCHAT_ICE_SERVERS: '[{"urls":"turn:t","username":"u","credential":"p"}]', MQCHAT_TURN_SECRET: 'x' }, /entry 0: leave out username and credential, MQCHAT_TURN_SECRET makes them/],
    [{ MQCHAT_TURN_SECRET: 'x' }, /^MQCHAT_TURN_SECRET is set but MQCHAT_ICE_SERVERS has no turn: or turns: entry/],
    [{ MQCHAT_CALL_RING_MS: '10' }, /^MQCHAT_CALL_RING_MS must be milliseconds/]
  ]
  for (const [env, want] of bad) {
    assert.throws(() => loadConfig(env), (err: unknown) => err instanceof SetupError && err.problems.length === 1 && want.test(err.problems[0]!), JSON.stringify(env))
  }
})

test('the call topic: a user publishes to its own, subscribes to none; its peer hears it on signal', () => {
  const me = { domainId: 'acme', userid: 2 }
  const pubs: Array<[string, string | null]> = [
    ['chat/acme/2/call', 'call'], ['chat/acme/3/call', null], ['chat/beta/2/call', null], ['chat/acme/+/call', null], ['chat/acme/2/call/x', null]
  ]
  for (const [topic, action] of pubs) assert.equal(clientAction(topic, me), action, topic)
  for (const topic of ['chat/acme/2/call', 'chat/acme/3/call', 'chat/acme/+/call']) assert.equal(canSubscribe(topic, me), false, topic)
})

test('a call signal\'s shape: what is refused, naming the field', () => {
  const valid = compile(MqttCall)
  const base = { to_userid: 3, call: 'c-1', kind: 'ice' }
  const table: Array<[unknown, string | null]> = [
    [{ ...base, candidate: { candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host', sdpMid: '0', sdpMLineIndex: 0, usernameFragment: 'ab' } }, null],
    [{ ...base, kind: 'offer', sdp: 'v=0\r\n', video: true, cid: 'x' }, null],
    [{ ...base, kind: 'ring' }, 'kind must be one of offer, answer, ice, hangup, decline'],
    [{ ...base, call: 'has space' }, 'call must match pattern "^[A-Za-z0-9_.:-]+$"'],
    [{ ...base, call: 'x'.repeat(65) }, 'call must NOT have more than 64 characters'],
    [{ ...base, kind: 'offer', sdp: 'x'.repeat(16 * 1024 + 1) }, 'sdp must NOT have more than 16384 characters'],
    [{ ...base, candidate: { candidate: 'c', extra: 1 } }, 'unknown field "candidate.extra"'],
    [{ ...base, video: 'yes' }, 'video must be boolean'],
    [{ ...base, to_userid: 0 }, 'to_userid must be >= 1'],
    [{ to_userid: 3, kind: 'hangup' }, 'missing field "call"'],
    [{ ...base, from_userid: 2 }, 'unknown field "from_userid"']
  ]
  for (const [input, want] of table) {
    const ok = valid(input)
    assert.equal(ok ? null : describeValidationError(valid.errors), want, JSON.stringify(input).slice(0, 80))
  }
})
