// The pure decisions, tested with literal tables (as svix tests its signing and retry rules).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import jwt from 'jsonwebtoken'
import { canSubscribe, clientAction, presenceFilter } from '../src/broker/topics.ts'
import { FrameLimit, MAX_PACKET_BYTES, frameCheck } from '../src/broker/frame-limit.ts'
import { PRESENCE_WINDOW_MS, PresenceWindow } from '../src/broker/presence-window.ts'
import { parseUserid, parseUsername } from '../src/chat/domains.ts'
import { RateLimiter } from '../src/chat/rate-limit.ts'
import { compile, describeValidationError, MqttSend } from '../src/chat/schemas.ts'
import { signToken, verifyToken } from '../src/chat/tokens.ts'
import { loadConfig, parseRate, unknownSettings } from '../src/config.ts'
import { SetupError } from '../src/errors.ts'

test('settings: defaults are those of SPEC §1', () => {
  const c = loadConfig({})
  assert.equal(c.httpPort, 8080)
  assert.equal(c.mqttPort, 1883)
  assert.equal(c.host, '0.0.0.0')
  assert.equal(c.callbackAllowPrivate, false)
  assert.equal(c.callbackTimeoutMs, 5000)
  assert.equal(c.presenceGraceMs, 3000)
  assert.deepEqual(c.userRate, { perSecond: 20, burst: 60, text: '20/1s,burst=60' })
  assert.equal(c.retentionDays, 0)
  assert.equal(loadConfig({ MQCHAT_RETENTION_DAYS: '30' }).retentionDays, 30)
  assert.ok(Object.isFrozen(c))
})

test('settings: every bad one is reported at once, each naming its variable', () => {
  const bad = {
    MQCHAT_HTTP_PORT: 'abc',
    MQCHAT_MQTT_PORT: '70000',
    MQCHAT_CALLBACK_ALLOW_PRIVATE: 'maybe',
    MQCHAT_CALLBACK_TIMEOUT_MS: '-1',
    MQCHAT_PRESENCE_GRACE_MS: '1.5',
    MQCHAT_USER_RATE: 'lots',
    MQCHAT_ADMIN_KEY: 'short',
    MQCHAT_DATABASE_URL: 'mysql://x',
    MQCHAT_REDIS_URL: 'http://x',
    MQCHAT_RETENTION_DAYS: '-3'
  }
  assert.throws(() => loadConfig(bad), (err: unknown) => {
    assert.ok(err instanceof SetupError)
    assert.equal(err.problems.length, Object.keys(bad).length)
    for (const name of Object.keys(bad)) assert.ok(err.problems.some((p) => p.startsWith(name)), `${name} is named`)
    return true
  })
})

test('settings: unknown MQCHAT_ variables are found (typos)', () => {
  assert.deepEqual(unknownSettings({ MQCHAT_HTTP_PROT: '1', MQCHAT_HTTP_PORT: '1', HOME: '/' }), ['MQCHAT_HTTP_PROT'])
})

test('rate setting: count/window with an optional burst', () => {
  const table: Array<[string, number | null, number | null]> = [
    ['20/1s,burst=60', 20, 60],
    ['20/s', 20, 20],
    ['100/1m', 100 / 60, 100],
    ['5/500ms, burst = 10', 10, 10],
    ['1/1h', 1 / 3600, 1],
    ['0/1s', null, null],
    ['20', null, null],
    ['20/1d', null, null],
    ['20/1s,burst=0', null, null]
  ]
  for (const [text, perSecond, burst] of table) {
    const r = parseRate(text)
    if (perSecond === null) assert.equal(typeof r, 'string', text)
    else assert.deepEqual([typeof r === 'string' ? r : r.perSecond, typeof r === 'string' ? r : r.burst], [perSecond, burst], text)
  }
})

test('rate limiter: a burst, then the steady rate, and idle buckets are forgotten', () => {
  let now = 0
  const r = new RateLimiter(2, 3, () => now)
  assert.deepEqual([r.take('a'), r.take('a'), r.take('a'), r.take('a')], [true, true, true, false])
  assert.equal(r.take('b'), true, 'another key has its own bucket')
  now = 500
  assert.deepEqual([r.take('a'), r.take('a')], [true, false])
  now = 10_000
  r.prune()
  assert.equal(r.size, 0)
})

test('tokens: ours verify; every other kind of token is refused with a reason', () => {
  const now = 1_700_000_000
  const good = signToken('s3cret', { sub: '42', aud: 'acme', exp: now + 60 })
  assert.deepEqual(verifyToken(good, 's3cret', 'acme', 42, now), { ok: true })
  const byLibrary = jwt.sign({ sub: '42', aud: 'acme', exp: now + 60 }, 's3cret', { algorithm: 'HS256', noTimestamp: true })
  assert.deepEqual(verifyToken(byLibrary, 's3cret', 'acme', 42, now), { ok: true })
  const audArray = jwt.sign({ sub: '42', aud: ['x', 'acme'], exp: now + 60 }, 's3cret', { algorithm: 'HS256' })
  assert.deepEqual(verifyToken(audArray, 's3cret', 'acme', 42, now), { ok: true })

  const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: '42', aud: 'acme', exp: now + 60 })).toString('base64url')}.`
  const table: Array<[string, string, string, number, number, RegExp]> = [
    [good, 'other', 'acme', 42, now, /signature/],
    [good, 's3cret', 'beta', 42, now, /aud/],
    [good, 's3cret', 'acme', 43, now, /sub/],
    [good, 's3cret', 'acme', 42, now + 60, /expired/],
    [none, 's3cret', 'acme', 42, now, /HS256/],
    [jwt.sign({ sub: '42', aud: 'acme', exp: now + 60 }, 's3cret', { algorithm: 'HS512' }), 's3cret', 'acme', 42, now, /HS256/],
    [jwt.sign({ sub: '42', aud: 'acme' }, 's3cret', { algorithm: 'HS256', noTimestamp: true }), 's3cret', 'acme', 42, now, /exp/],
    [jwt.sign({ sub: '42', aud: 'acme', exp: now + 60, nbf: now + 30 }, 's3cret', { algorithm: 'HS256' }), 's3cret', 'acme', 42, now, /nbf/],
    ['garbage', 's3cret', 'acme', 42, now, /JWT/],
    ['a.b.c', 's3cret', 'acme', 42, now, /JWT/],
    ['x'.repeat(5000), 's3cret', 'acme', 42, now, /long/]
  ]
  for (const [token, secret, aud, sub, at, reason] of table) {
    const r = verifyToken(token, secret, aud, sub, at)
    assert.equal(r.ok, false, `${token.slice(0, 30)} must be refused`)
    assert.match((r as { reason: string }).reason, reason)
  }
})

test('userids and usernames: one canonical form', () => {
  const ids: Array<[string, number | null]> = [
    ['1', 1], ['3601', 3601], ['9007199254740991', 9007199254740991],
    ['0', null], ['-1', null], ['01', null], ['+1', null], ['1.0', null], ['1e3', null],
    ['9007199254740992', null], ['99999999999999999999', null], ['', null], ['abc', null]
  ]
  for (const [s, want] of ids) assert.equal(parseUserid(s), want, s)
  assert.deepEqual(parseUsername('acme/2'), { domainId: 'acme', userid: 2 })
  assert.deepEqual(parseUsername('my-site.example/7'), { domainId: 'my-site.example', userid: 7 })
  for (const u of ['acme', 'acme/', '/2', 'Acme/2', 'acme/2/3', 'acme/x']) assert.equal(parseUsername(u), null, u)
})

test('topic ACL: own inbox, ack and signal, presence of the own domain; nothing else', () => {
  const me = { domainId: 'acme', userid: 2 }
  const subs: Array<[string, boolean]> = [
    ['chat/acme/2/inbox', true], ['chat/acme/2/ack', true], ['chat/acme/+/presence', true], ['chat/acme/3601/presence', true],
    ['chat/acme/3/inbox', false], ['chat/acme/3/ack', false], ['chat/acme/+/inbox', false], ['chat/acme/#', false], ['#', false],
    ['chat/beta/+/presence', false], ['chat/acme/2/send', false], ['chat/acme/2/status', false], ['$SYS/#', false],
    ['chat/acme/02/inbox', false], ['chat/acme/0/presence', false], ['chat/acme/2/inbox/x', false], ['chat/acme/x/presence', false],
    ['chat/acme/2/signal', true], ['chat/acme/3/signal', false], ['chat/acme/+/signal', false], ['chat/acme/2/typing', false], ['chat/acme/2/read', false]
  ]
  for (const [topic, ok] of subs) assert.equal(canSubscribe(topic, me), ok, topic)
  const pubs: Array<[string, string | null]> = [
    ['chat/acme/2/send', 'send'], ['chat/acme/2/status', 'status'], ['chat/acme/2/history', 'history'],
    ['chat/acme/3/send', null], ['chat/acme/2/inbox', null], ['chat/acme/2/presence', null], ['chat/beta/2/send', null],
    ['chat/acme/2/ack', null], ['foo', null], ['chat/acme/02/send', null],
    ['chat/acme/2/typing', 'typing'], ['chat/acme/2/read', 'read'], ['chat/acme/3/typing', null], ['chat/acme/3/read', null],
    ['chat/acme/2/signal', null], ['chat/beta/2/read', null]
  ]
  for (const [topic, action] of pubs) assert.equal(clientAction(topic, me), action, topic)
  assert.deepEqual(presenceFilter('chat/acme/+/presence'), { domainId: 'acme', userid: null })
  assert.deepEqual(presenceFilter('chat/acme/7/presence'), { domainId: 'acme', userid: 7 })
  assert.equal(presenceFilter('chat/acme/7/inbox'), null)
})

test('presence just after a SUBSCRIBE: one change is given once, retained or live, and nothing is kept past the window', () => {
  // [retained?, topic, status] → given?
  const on = (u: number, status: string) => JSON.stringify({ userid: u, status, timestamp: 1 })
  const table: Array<[what: string, steps: Array<[boolean, number, string, boolean]>]> = [
    ['retained, then the same change live', [[true, 1, 'online', true], [false, 1, 'online', false]]],
    ['live, then the same change retained', [[false, 1, 'online', true], [true, 1, 'online', false]]],
    ['live, then an older one retained', [[false, 1, 'away', true], [true, 1, 'online', false]]],
    ['retained, then a real change live', [[true, 1, 'online', true], [false, 1, 'away', true], [false, 1, 'online', true]]],
    ['two users apart', [[true, 1, 'online', true], [true, 2, 'online', true], [false, 2, 'online', false], [false, 1, 'busy', true]]],
    ['the same user retained by two filters', [[true, 1, 'online', true], [true, 1, 'online', false]]],
    ['retained, then a newer one retained (a new friend)', [[true, 1, 'online', true], [true, 1, 'away', true]]]
  ]
  for (const [what, steps] of table) {
    const w = new PresenceWindow(() => 0)
    w.renew()
    for (const [retained, u, status, given] of steps) {
      assert.equal(w.forward(`chat/d/${u}/presence`, on(u, status), retained), given, `${what}: ${retained ? 'retained' : 'live'} ${u} ${status}`)
    }
  }
  // held back (not a friend), then given again: news, even retained
  const f = new PresenceWindow(() => 0)
  f.renew()
  assert.equal(f.forward('chat/d/1/presence', on(1, 'online'), false), true)
  f.forget('chat/d/1/presence')
  assert.equal(f.forward('chat/d/1/presence', on(1, 'online'), true), true, 'a friend again: its presence, retained')
  let now = 0
  const w = new PresenceWindow(() => now)
  w.renew()
  now = PRESENCE_WINDOW_MS - 1
  assert.equal(w.over(), false)
  w.renew()
  now += PRESENCE_WINDOW_MS - 1
  assert.equal(w.over(), false, 'a new SUBSCRIBE renews it')
  now += 1
  assert.equal(w.over(), true)
})

test('frame limit: reads packet lengths across chunks and stops oversize or malformed ones', () => {
  const f = new FrameLimit(100)
  // CONNECT of 12 bytes body, then PINGREQ, split at awkward places
  const stream = Buffer.concat([Buffer.from([0x10, 12]), Buffer.alloc(12), Buffer.from([0xc0, 0x00])])
  for (const chunk of [stream.subarray(0, 1), stream.subarray(1, 5), stream.subarray(5)]) assert.equal(f.feed(chunk), null)
  // a two-byte length: 100 = 0x64 fits; 128 = 0x80 0x01 is over
  assert.equal(new FrameLimit(100).feed(Buffer.concat([Buffer.from([0x30, 0x64]), Buffer.alloc(100)])), null)
  assert.match(new FrameLimit(100).feed(Buffer.from([0x30, 0x80, 0x01]))!, /over the 100-byte limit/)
  // the length split between chunks is still read
  const g = new FrameLimit(100)
  assert.equal(g.feed(Buffer.from([0x30, 0x80])), null)
  assert.match(g.feed(Buffer.from([0x01]))!, /limit/)
  assert.match(new FrameLimit(100).feed(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff]))!, /malformed/)
  // the largest legal length (268,435,455) against the default limit
  assert.match(new FrameLimit().feed(Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f]))!, /limit/)
})

test('frame check: a connection keeps the limit\'s state only while a packet spans its chunks', () => {
  const a: { mqFrame?: FrameLimit } = {}
  const b: { mqFrame?: FrameLimit } = {}
  const stream = Buffer.concat([Buffer.from([0x10, 12]), Buffer.alloc(12), Buffer.from([0xc0, 0x00])])
  assert.equal(frameCheck(a, stream), null)
  assert.equal(a.mqFrame, undefined, 'whole packets: nothing kept')
  // a's packet is pending while b's chunks go by: each keeps its own
  assert.equal(frameCheck(a, stream.subarray(0, 5)), null)
  assert.notEqual(a.mqFrame, undefined)
  assert.equal(frameCheck(b, Buffer.from([0x30, 0x80])), null)
  assert.equal(frameCheck(b, Buffer.from([0xc0, 0x00])), null, 'b: a length of 8,192 read across chunks')
  assert.notEqual(b.mqFrame, undefined, 'b: its body is pending')
  assert.notEqual(b.mqFrame, a.mqFrame)
  assert.equal(frameCheck(a, stream.subarray(5)), null)
  assert.equal(a.mqFrame, undefined, 'a is between packets again')
  // an oversize length split across chunks is still read whole
  const big = MAX_PACKET_BYTES + 1
  const c: { mqFrame?: FrameLimit } = {}
  assert.equal(frameCheck(c, Buffer.from([0x30, 0x80 | (big & 0x7f), 0x80 | ((big >> 7) & 0x7f)])), null)
  assert.match(frameCheck(c, Buffer.from([big >> 14]))!, /limit/)
  assert.equal(frameCheck({}, Buffer.from([0xc0, 0x00])), null, 'the shared state is left between packets')
})

test('validation messages name the field', () => {
  const v = compile(MqttSend)
  const table: Array<[unknown, string]> = [
    [{ to_userid: 1, message: 'x', type: 6 }, 'type must be <= 5'],
    [{ to_userid: 1, message: 5, type: 0 }, 'message must be string'],
    [{ message: 'x', type: 0 }, 'missing field "to_userid"'],
    [{ to_userid: 1, message: 'x', type: 0, msg: 'y' }, 'unknown field "msg"'],
    [{ to_userid: 1, message: 'x', type: 0, p2: 'y'.repeat(1025) }, 'p2 must NOT have more than 1024 characters'],
    [[1, 2], 'payload must be object']
  ]
  for (const [input, message] of table) {
    assert.equal(v(input), false)
    assert.equal(describeValidationError(v.errors), message)
  }
  assert.equal(v({ to_userid: 1, message: '😀'.repeat(4096), type: 0 }), true, '4,096 characters, counted as code points')
})

test('SSRF: local-use NAT64 and the 3fff::/20 documentation range are refused; ordinary NAT64 is judged by its IPv4', async () => {
  const { isPublicAddress } = await import('../src/callbacks/ssrf.ts')
  const table: Array<[string, boolean]> = [
    ['64:ff9b:1::808:808', false], ['3fff::1', false], ['64:ff9b::808:808', true], ['64:ff9b::7f00:1', false],
    ['::ffff:8.8.8.8', true], ['2606:4700::1111', true]
  ]
  for (const [ip, ok] of table) assert.equal(isPublicAddress(ip), ok, ip)
})

test('origins: the allowed list, any while empty, same-origin always; PATCH accepts origins only', async () => {
  const { originAllowed, originProblem } = await import('../src/chat/origins.ts')
  const list = ['https://www.acme.test', 'http://localhost:3000']
  const cases: Array<[string, readonly string[], string | undefined, boolean]> = [
    ['https://evil.test', [], undefined, true],
    ['https://www.acme.test', list, undefined, true],
    ['http://localhost:3000', list, 'chat.acme.test', true],
    ['https://acme.test', list, undefined, false],
    ['http://www.acme.test', list, undefined, false],
    ['https://www.acme.test:8443', list, undefined, false],
    ['null', list, 'chat.acme.test', false],
    ['https://chat.acme.test', list, 'chat.acme.test', true],
    ['https://chat.acme.test', list, 'CHAT.acme.test', true],
    ['https://chat.acme.test.evil', list, 'chat.acme.test', false]
  ]
  for (const [origin, allowed, host, want] of cases) assert.equal(originAllowed(origin, allowed, host), want, `${origin} ${host}`)
  const problems: Array<[string, RegExp | null]> = [
    ['https://www.acme.test', null], ['http://localhost:3000', null],
    ['https://www.acme.test/', /origin only/], ['https://www.acme.test/path', /origin only/], ['HTTPS://WWW.ACME.TEST', /origin only/],
    ['ftp://acme.test', /http or https/], ['javascript:alert(1)', /http or https/], ['www.acme.test', /not a URL/]
  ]
  for (const [o, want] of problems) {
    const p = originProblem(o)
    if (want === null) assert.equal(p, null, o)
    else assert.match(p ?? '', want, o)
  }
})

test('profiles: http(s) URLs only, empty clears, token claims that do not fit are left out', async () => {
  const { profilePatch, profileFromClaims } = await import('../src/chat/profiles.ts')
  assert.deepEqual(profilePatch({ name: 'Ada', avatar: 'https://a.test/x.png', link: '' }), { name: 'Ada', avatar: 'https://a.test/x.png', link: null })
  for (const bad of ['javascript:alert(1)', 'data:image/png;base64,AA', 'ftp://a.test/x', '//a.test/x', 'a.test/x']) {
    assert.throws(() => profilePatch({ avatar: bad }), (e: { code?: string, message: string }) => e.code === 'invalid_url' && /avatar/.test(e.message), bad)
  }
  assert.deepEqual(profileFromClaims({ name: 'Grace', picture: 'https://a.test/g.png', profile: 'http://a.test/g' }), { name: 'Grace', avatar: 'https://a.test/g.png', link: 'http://a.test/g' })
  assert.deepEqual(profileFromClaims({ name: 7, picture: 'javascript:x', profile: ['x'] }), {})
  assert.deepEqual(profileFromClaims({ name: 'x'.repeat(201) }), {})
  assert.deepEqual(profileFromClaims({ sub: '1' }), {})
})

test('erasure: tokens minted up to the erasure\'s second stop working; tokens minted after it work', async () => {
  const { tokenErased, issuedAt } = await import('../src/chat/erasure.ts')
  const erased = 1_700_000_000_500
  const cases: Array<[unknown, number | null, boolean]> = [
    [1_699_999_999, erased, true], [1_700_000_000, erased, true], [1_700_000_001, erased, false],
    [undefined, erased, true], ['1700000001', erased, true], [1_600_000_000, null, false], [undefined, null, false]
  ]
  for (const [iat, at, want] of cases) assert.equal(tokenErased(iat, at), want, `${String(iat)} ${String(at)}`)
  assert.equal(issuedAt(1_700_000_000_900, erased), 1_700_000_001)
  assert.equal(issuedAt(1_700_000_005_000, erased), 1_700_000_005)
  assert.equal(issuedAt(1_700_000_000_900, null), 1_700_000_000)
  assert.equal(tokenErased(issuedAt(erased + 1, erased), erased), false)
})

test('retention: a domain\'s own days, else the server\'s; 0 keeps forever', async () => {
  const { retentionDaysOf } = await import('../src/chat/retention.ts')
  const cases: Array<[number, number, number]> = [[0, 0, 0], [0, 30, 30], [7, 30, 7], [7, 0, 7], [400, 30, 400]]
  for (const [domain, server, want] of cases) assert.equal(retentionDaysOf(domain, server), want, `${domain} ${server}`)
})
