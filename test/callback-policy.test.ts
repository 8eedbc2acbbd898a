// SPEC §4.4, row by row, end to end: a real server delivers to real receivers on 127.0.0.1,
// and each outcome is checked the way a customer sees it: the callback's settings
// (GET …/callbacks/{kind}), its logs, its event feed, and what the receiver got.
import assert from 'node:assert/strict'
import { test, type TestContext } from 'node:test'
import { Webhook } from 'standardwebhooks'
import { callbackApi, carrying, closedPort, FAST_ENV, headersOf, textsFrom, withCallback as withFastCallback, type Kind } from './helpers/callbacks.ts'
import { answer, receiver, type Receiver, type Responder } from './helpers/receiver.ts'
import { startServer } from './helpers/server.ts'
import { waitFor } from './helpers/wait.ts'

const nowSec = (): number => Math.floor(Date.now() / 1000)

// On a busy machine (two cores shared by several test runs) a receiver on 127.0.0.1 can take
// longer than FAST_ENV's 300 ms to read and answer a request, and an attempt cut by the
// timeout is another outcome than the one a test means (a retry after 50 ms instead of a
// Retry-After, "no answer in time" instead of a 500). Here only the tests that are about the
// timeout keep 300 ms; every other attempt may take 10 s.
const ANSWERED = { MQCHAT_CALLBACK_TIMEOUT_MS: '10000' }
const TIMEOUT = { MQCHAT_CALLBACK_TIMEOUT_MS: FAST_ENV.MQCHAT_CALLBACK_TIMEOUT_MS }
const withCallback = (t: TestContext, env: Record<string, string> = {}, kind?: Kind): ReturnType<typeof withFastCallback> =>
  withFastCallback(t, { ...ANSWERED, ...env }, kind)

/** Asserts a unix-seconds value lies between `fromSec` and now. */
function recent (value: number | null, fromSec: number, what: string): void {
  assert.equal(typeof value, 'number', `${what} is set`)
  assert.ok(value! >= fromSec && value! <= nowSec(), `${what} (${value}) is between ${fromSec} and now`)
}

// ---- 2xx -------------------------------------------------------------------------------

test('a 200, 201 or 204 answer is a delivery: lastSuccessAt is set and each attempt is logged ok', async (t) => {
  const { rx, cb } = await withCallback(t)
  const statuses = [200, 201, 204]
  rx.respond = (req, res) => {
    const status = statuses[rx.requests.indexOf(req)] ?? 200
    res.writeHead(status)
    res.end(status === 204 ? undefined : `thanks ${status}`)
  }
  const from = nowSec()
  const sent = []
  for (const text of ['m0', 'm1', 'm2']) sent.push(await cb.send(7, text))
  const logs = await cb.logsAtLeast(3)
  assert.equal(logs.length, 3)
  const feed = (await cb.events()).items
  assert.deepEqual(feed.map((e) => e.delivered), [true, true, true])
  // newest first
  for (const [i, log] of [...logs].reverse().entries()) {
    assert.equal(log.result, 'ok')
    assert.equal(log.responseStatus, statuses[i])
    assert.equal(log.responseBody, statuses[i] === 204 ? '' : `thanks ${statuses[i]}`)
    assert.equal(log.attempt, 1)
    assert.equal(log.error, null)
    assert.ok(Number.isInteger(log.durationMs) && log.durationMs >= 0, 'durationMs is a whole number of ms')
    assert.equal(log.url, rx.url)
    assert.equal(log.requestBody, JSON.stringify(sent[i]))
    assert.equal(log.eventId, feed[i]!.id)
    recent(log.at, from, 'the attempt time')
  }
  assert.deepEqual(textsFrom(rx.requests, 7), ['m0', 'm1', 'm2'])
  const v = await cb.get()
  assert.equal(v.enabled, true)
  assert.equal(v.pending, 0)
  recent(v.lastSuccessAt, from, 'lastSuccessAt')
  assert.equal(v.lastFailureAt, null)
})

test('the log keeps only the first KiB of what the receiver answers', async (t) => {
  const { rx, cb } = await withCallback(t)
  const body = Array.from({ length: 5 * 1024 }, (_, i) => String.fromCharCode(97 + (i % 26))).join('')
  rx.respond = answer(200, body)
  await cb.send(1, 'hello')
  const [log] = await cb.logsAtLeast(1)
  assert.equal(log!.result, 'ok')
  assert.equal(Buffer.byteLength(log!.responseBody!), 1024)
  assert.equal(log!.responseBody, body.slice(0, 1024))
})

test('the logged answer is never more than 1 KiB, even when the cut falls inside a UTF-8 character', async (t) => {
  const { rx, cb } = await withCallback(t)
  // '€' is 3 bytes: 1024 bytes end one byte into the 342nd one.
  rx.respond = answer(200, '€'.repeat(2000), { 'content-type': 'text/plain; charset=utf-8' })
  await cb.send(1, 'hello')
  const [log] = await cb.logsAtLeast(1)
  assert.equal(log!.result, 'ok')
  assert.ok(Buffer.byteLength(log!.responseBody!) <= 1024, `the logged body is ${Buffer.byteLength(log!.responseBody!)} bytes, more than 1 KiB`)
  assert.ok(log!.responseBody!.startsWith('€'.repeat(341)))
})

// ---- disabled at once ------------------------------------------------------------------

interface DisableCase {
  /** the URL the callback is set to, given the test's receiver */
  url: (rx: Receiver) => Promise<string> | string
  /** how the receiver answers the first event */
  respond?: Responder
  reason: RegExp
  status: number | null
}

/**
 * The first event disables the callback at once; the events after it are kept but not sent;
 * turning it on again (with a working URL) delivers new events; replay sends the kept ones.
 */
async function disabledAtOnce (t: TestContext, c: DisableCase): Promise<void> {
  const { s, d, rx, cb } = await withCallback(t)
  const url = await c.url(rx)
  if (url !== rx.url) assert.equal((await cb.put({ url })).status, 200)
  if (c.respond !== undefined) rx.respond = c.respond
  const from = nowSec()
  await cb.send(1, 'a')

  const v = await cb.disabled()
  assert.equal(v.enabled, false)
  assert.match(v.disabledReason!, c.reason)
  recent(v.disabledAt, from, 'disabledAt')
  recent(v.lastFailureAt, from, 'lastFailureAt')
  assert.equal(v.lastSuccessAt, null)
  const logs = await cb.logs()
  assert.equal(logs.length, 1, 'one attempt, not retried')
  assert.equal(logs[0]!.result, 'failed')
  assert.equal(logs[0]!.attempt, 1)
  assert.equal(logs[0]!.responseStatus, c.status)
  assert.match(logs[0]!.error!, c.reason)

  // Later events are kept, not sent: in the feed, undelivered, and not waiting either.
  await cb.send(1, 'b')
  await cb.send(2, 'c')
  const feed = await cb.events()
  assert.deepEqual(feed.items.map((e) => [e.body.message.message, e.delivered]), [['a', false], ['b', false], ['c', false]])
  assert.equal((await cb.get()).pending, 0)

  // On again, with a URL that works: new events flow; the kept ones stay kept (user 1's
  // queue would have sent 'b' before 'd').
  rx.respond = answer(200, 'ok')
  const on = await cb.put(url === rx.url ? { enabled: true } : { url: rx.url, enabled: true })
  assert.equal(on.status, 200)
  assert.deepEqual([on.body.enabled, on.body.disabledReason, on.body.disabledAt], [true, null, null])
  await cb.send(1, 'd')
  await waitFor(() => textsFrom(rx.requests, 1).includes('d'), "user 1's new event")
  const before = c.status === null ? [] : ['a']
  assert.deepEqual(textsFrom(rx.requests, 1), [...before, 'd'])
  assert.deepEqual(textsFrom(rx.requests, 2), [])

  // Replay sends every kept event again, in order, with its webhook-id.
  const got = rx.requests.length
  const replay = await s.api('POST', `${cb.path}/replay`, { since: from - 1 }, d.apiKey)
  assert.equal(replay.status, 200)
  assert.deepEqual(replay.body, { queued: 4 })
  await rx.count(got + 4)
  const again = rx.requests.slice(got)
  assert.deepEqual(textsFrom(again, 1), ['a', 'b', 'd'])
  assert.deepEqual(textsFrom(again, 2), ['c'])
  const ids = Object.fromEntries((await cb.events()).items.map((e) => [e.body.message.message, e.webhookId]))
  for (const r of again) assert.equal(r.headers['webhook-id'], ids[r.json.message.message])
  await waitFor(async () => (await cb.events()).items.every((e) => e.delivered), 'every event delivered')
}

for (const status of [401, 403, 404, 410]) {
  test(`a ${status} disables the callback at once, with the reason and the time; later events are kept, and sent by replay`, async (t) => {
    await disabledAtOnce(t, {
      url: (rx) => rx.url,
      respond: answer(status, 'no'),
      reason: new RegExp(`${status}`),
      status
    })
  })
}

test('a refused connection disables the callback at once, and it works again once set to a URL that answers', async (t) => {
  const port = await closedPort()
  await disabledAtOnce(t, {
    url: () => `http://127.0.0.1:${port}/hook`,
    reason: /unreachable.*ECONNREFUSED/,
    status: null
  })
})

test('a host name that does not resolve is refused when set, and disables the callback at once when sending', async (t) => {
  // Without MQCHAT_CALLBACK_ALLOW_PRIVATE the name is looked up when set: it cannot be used.
  const strict = await startServer(t)
  const d = await strict.domain()
  const put = await callbackApi(strict, d).put({ url: 'http://nonexistent.invalid/hook', enabled: true })
  assert.equal(put.status, 400)
  assert.equal(put.body.error.code, 'invalid_url')
  assert.match(put.body.error.message, /nonexistent\.invalid/)

  // With it, names are not looked up when set; the failure shows when sending.
  await disabledAtOnce(t, {
    url: () => 'http://nonexistent.invalid/hook',
    reason: /unreachable.*ENOTFOUND/,
    status: null
  })
})

test("switching the callback off and on while a user's event is in flight does not let that user's next event overtake it", async (t) => {
  const { rx, cb } = await withCallback(t)
  let release!: () => void
  const released = new Promise<void>((resolve) => { release = resolve })
  let releasedAt = Infinity
  rx.respond = async (req, res) => {
    if (req.json?.message?.message === 'a') await released
    res.end('ok')
  }
  await cb.send(1, 'a')
  await waitFor(() => textsFrom(rx.requests, 1).includes('a'), "'a' in flight")
  assert.equal((await cb.put({ enabled: false })).status, 200)
  assert.equal((await cb.put({ enabled: true })).status, 200)
  await cb.send(1, 'b')
  // Another user's event, delivered and logged: the dispatcher has looked at the queues
  // since 'b' was written.
  await cb.send(3, 'c')
  await waitFor(async () => (await cb.logs()).some((l) => l.requestBody.includes('"c"')), "user 3's event delivered")
  releasedAt = Date.now()
  release()
  await waitFor(() => textsFrom(rx.requests, 1).includes('b'), "user 1's 'b'")
  const b = carrying(rx.requests, 'b')[0]!
  assert.ok(b.at >= releasedAt, `'b' was sent ${releasedAt - b.at} ms before 'a' was answered: two of user 1's events in flight at once`)
})

// ---- retried with back-off -------------------------------------------------------------

interface RetryCase {
  name: string
  /** how the receiver fails an attempt */
  fail: Responder
  error: RegExp
  status: number | null
  /** the attempt's timeout for this case */
  env: Record<string, string>
}

const RETRY_ENV = { MQCHAT_CALLBACK_RETRY_DELAYS: '50ms,200ms,400ms' }
/** the shortest the first two back-off steps can be, with their -20 % jitter (ms) */
const STEP_MIN_MS = [40, 160]

const hang: Responder = () => {}

const retryCases: RetryCase[] = [
  { name: 'a timeout', fail: hang, error: /no answer in time/, status: null, env: TIMEOUT },
  { name: 'a 408', fail: answer(408), error: /408/, status: 408, env: ANSWERED },
  { name: 'a 429', fail: answer(429, 'slow down', { 'retry-after': '0' }), error: /429/, status: 429, env: ANSWERED },
  { name: 'a 500', fail: answer(500, 'oops'), error: /500/, status: 500, env: ANSWERED },
  { name: 'a 503', fail: answer(503), error: /503/, status: 503, env: ANSWERED }
]

for (const c of retryCases) {
  test(`${c.name} is retried with growing back-off; the user's later event waits behind it, other users' go out meanwhile`, async (t) => {
    const { rx, cb } = await withCallback(t, { ...RETRY_ENV, ...c.env })
    const isA = (r: { json: any }): boolean => r.json?.message?.message === 'a'
    let pendingWhileFailing = -1
    let aDeliveredAt = Infinity
    // User 1's 'a' fails twice; its third attempt is answered only once user 2's event has
    // arrived: if users were not delivered in parallel it would never be.
    rx.respond = async (req, res) => {
      if (isA(req)) {
        const n = rx.requests.filter(isA).length
        if (n === 2) pendingWhileFailing = (await cb.get()).pending
        if (n <= 2) return c.fail(req, res)
        await waitFor(() => textsFrom(rx.requests, 2).length > 0, "user 2's event, while user 1's 'a' waits for its answer", 10_000)
        aDeliveredAt = Date.now()
      }
      res.end('ok')
    }
    // Bounds that hold however busy the machine is: a clock reading taken when something is
    // seen is never earlier than the thing itself. An answered attempt ends after the
    // receiver had it, so its retry comes at least a back-off step after that reading; one
    // that hangs ends a timeout after it started, which was after the test sent the message.
    const sentAt = Date.now()
    await cb.send(1, 'a')
    await cb.send(1, 'b')
    await cb.send(1, 'c')
    await cb.send(2, 'x')
    await waitFor(() => textsFrom(rx.requests, 1).includes('c'), "user 1's last event", 10_000)

    assert.deepEqual(textsFrom(rx.requests, 1), ['a', 'a', 'a', 'b', 'c'], "user 1's events in order, 'b' and 'c' only after 'a' got through")
    const attemptsA = carrying(rx.requests, 'a')
    const x = carrying(rx.requests, 'x')[0]!
    assert.ok(x.at <= aDeliveredAt, "user 2's event went out while user 1's was not delivered yet")
    assert.equal(new Set(attemptsA.map((r) => r.headers['webhook-id'])).size, 1, 'the same webhook-id on every retry')
    // The back-off (50 ms, then 200 ms, -20 % at the least) runs after the failed attempt is over.
    let wait1: number, wait2: number
    if (c.fail === hang) {
      const timeoutMs = Number(c.env.MQCHAT_CALLBACK_TIMEOUT_MS)
      wait1 = attemptsA[1]!.at - sentAt - timeoutMs
      wait2 = attemptsA[2]!.at - sentAt - 2 * timeoutMs - STEP_MIN_MS[0]!
    } else {
      wait1 = attemptsA[1]!.at - attemptsA[0]!.at
      wait2 = attemptsA[2]!.at - attemptsA[1]!.at
    }
    assert.ok(wait1 >= STEP_MIN_MS[0]!, `a back-off after the failed attempt, before the first retry (${wait1} ms)`)
    assert.ok(wait2 >= STEP_MIN_MS[1]!, `the back-off grows: the second is the 200 ms step, longer than the first step can be (${wait2} ms)`)
    assert.ok(pendingWhileFailing >= 3, `'a', 'b' and 'c' are pending while 'a' fails (pending was ${pendingWhileFailing})`)

    const logs = await cb.logsAtLeast(6)
    const logA = logs.filter((l) => JSON.parse(l.requestBody).message.message === 'a').reverse()
    assert.deepEqual(logA.map((l) => [l.attempt, l.result]), [[1, 'failed'], [2, 'failed'], [3, 'ok']])
    for (const l of logA.slice(0, 2)) {
      assert.equal(l.responseStatus, c.status)
      assert.match(l.error!, c.error)
    }
    const v = await waitFor(async () => { const v = await cb.get(); return v.pending === 0 ? v : undefined }, 'nothing pending')
    assert.equal(v.enabled, true)
    assert.notEqual(v.lastFailureAt, null)
    assert.notEqual(v.lastSuccessAt, null)
  })
}

test("a 429's or 503's Retry-After is honoured: the next attempt waits as long as it asks, up to the longest back-off step", async (t) => {
  // The longest step is long (4 s) so that 1 s, and not the longest step, is told apart from
  // it with seconds to spare however busy the machine is.
  const { rx, cb } = await withCallback(t, { MQCHAT_CALLBACK_RETRY_DELAYS: '50ms,4s' })
  rx.respond = (req, res) => {
    const n = rx.requests.length
    if (n === 1) return answer(429, '', { 'retry-after': '1' })(req, res) // 1 s, more than the 50 ms step
    if (n === 2) return answer(503, '', { 'retry-after': '30' })(req, res) // 30 s, capped at 4 s
    res.end('ok')
  }
  await cb.send(1, 'a')
  const [r1, r2, r3] = await rx.count(3, 20_000)
  // Each attempt ends after the receiver had it (it answers after its reading of the clock),
  // and the wait runs from that end: the gaps are never shorter, only longer on a busy machine.
  const gap1 = r2!.at - r1!.at
  const gap2 = r3!.at - r2!.at
  assert.ok(gap1 >= 1000, `Retry-After: 1 honoured (next attempt after ${gap1} ms)`)
  assert.ok(gap1 < 3200, `and not the longest step, 4 s (${gap1} ms)`)
  assert.ok(gap2 >= 4000, `Retry-After: 30 waits the longest step (${gap2} ms)`)
  assert.ok(gap2 < 15_000, `and not 30 s (${gap2} ms)`)
  const logs = await cb.logsAtLeast(3)
  assert.deepEqual(logs.map((l) => [l.attempt, l.result, l.responseStatus]), [[3, 'ok', 200], [2, 'failed', 503], [1, 'failed', 429]])
})

for (const c of [retryCases[3]!, retryCases[0]!]) {
  test(`when the last retry fails (${c.name}) the callback is disabled with the reason; later events are kept`, async (t) => {
    const { rx, cb } = await withCallback(t, c.env)
    rx.respond = (req, res) => c.fail(req, res)
    const from = nowSec()
    await cb.send(1, 'a')
    await cb.send(1, 'b')
    const v = await cb.disabled()
    assert.match(v.disabledReason!, /4 attempts failed/)
    assert.match(v.disabledReason!, c.error)
    recent(v.disabledAt, from, 'disabledAt')
    assert.deepEqual(textsFrom(rx.requests, 1), ['a', 'a', 'a', 'a'], 'the first try and 3 retries, never b')
    const logs = await cb.logs()
    assert.deepEqual(logs.map((l) => [l.attempt, l.result]).reverse(), [[1, 'failed'], [2, 'failed'], [3, 'failed'], [4, 'failed']])
    assert.deepEqual((await cb.events()).items.map((e) => e.delivered), [false, false])
    assert.equal(v.pending, 0)
  })
}

// ---- failed, not retried ---------------------------------------------------------------

for (const status of [301, 302, 307, 400, 405, 422]) {
  test(`a ${status} is recorded as failed and not retried${status < 400 ? ', the redirect is not followed,' : ''} and the user's next event goes out`, async (t) => {
    const { rx, cb } = await withCallback(t)
    const elsewhere = await receiver(t, '/elsewhere')
    // 301 points back at the receiver itself, the others at another receiver on 127.0.0.1.
    const location = status === 301 ? rx.url.replace('/hook', '/moved') : elsewhere.url
    rx.respond = (req, res) => {
      if (req.path !== '/hook' || req.json?.message?.message !== 'a') { res.end('ok'); return }
      res.writeHead(status, status < 400 ? { location } : {})
      res.end('not like this')
    }
    await cb.send(1, 'a')
    await cb.send(1, 'b')
    await waitFor(() => textsFrom(rx.requests, 1).includes('b'), "user 1's next event")
    assert.deepEqual(textsFrom(rx.requests, 1), ['a', 'b'], "'a' once, then 'b'")
    assert.deepEqual(rx.requests.map((r) => r.path), ['/hook', '/hook'], 'nothing went to the Location')
    assert.equal(elsewhere.requests.length, 0, 'nothing went to the Location')

    const logs = await cb.logsAtLeast(2)
    assert.deepEqual(logs.map((l) => [l.attempt, l.result, l.responseStatus]), [[1, 'ok', 200], [1, 'failed', status]])
    assert.match(logs[1]!.error!, new RegExp(`${status}`))
    if (status < 400) assert.match(logs[1]!.error!, /redirect/)
    const v = await cb.get()
    assert.equal(v.enabled, true)
    assert.equal(v.disabledReason, null)
    assert.notEqual(v.lastFailureAt, null)
    assert.deepEqual((await cb.events()).items.map((e) => e.delivered), [false, true])
  })
}

// ---- headers and signatures -------------------------------------------------------------

test('webhook-id is the same on every retry and on replay, webhook-timestamp is each attempt\'s time, and every attempt verifies', async (t) => {
  const { s, d, rx, cb } = await withCallback(t, { MQCHAT_CALLBACK_RETRY_DELAYS: '50ms,2s' })
  const secret = (await cb.get()).signingSecret
  // A 503 asking for 2 s puts the retry in a later second than the first attempt.
  rx.respond = (req, res) => rx.requests.length === 1 ? answer(503, '', { 'retry-after': '2' })(req, res) : answer(200)(req, res)
  const from = nowSec()
  const event = await cb.send(1, 'a')
  const [first, retry] = await rx.count(2, 10_000)
  const replay = await s.api('POST', `${cb.path}/replay`, { since: from }, d.apiKey)
  assert.deepEqual(replay.body, { queued: 1 })
  const [, , replayed] = await rx.count(3)

  const feed = (await cb.events()).items
  const wh = new Webhook(secret)
  for (const r of [first!, retry!, replayed!]) {
    assert.equal(r.headers['webhook-id'], feed[0]!.webhookId)
    assert.equal(r.body, JSON.stringify(event), 'the same body, the event time unchanged')
    const ts = Number(r.headers['webhook-timestamp'])
    assert.ok(ts <= r.at / 1000 && ts >= Math.floor(r.at / 1000) - 1, `webhook-timestamp ${ts} is the attempt's time (${r.at / 1000})`)
    assert.deepEqual(wh.verify(r.body, headersOf(r)), event)
  }
  const [ts1, ts2] = [first!, retry!].map((r) => Number(r.headers['webhook-timestamp']))
  assert.ok(ts2! >= ts1! + 2, `the retry carries its own time (${ts1} then ${ts2})`)
})

test('after rotate-secret each delivery carries two signatures, and verifies with the old secret and with the new one', async (t) => {
  const { rx, cb } = await withCallback(t)
  const old = (await cb.get()).signingSecret
  const rotated = await cb.rotate()
  assert.match(rotated.signingSecret, /^whsec_/)
  assert.notEqual(rotated.signingSecret, old)
  assert.equal((await cb.get()).signingSecret, rotated.signingSecret)

  const event = await cb.send(1, 'a')
  const [r] = await rx.count(1)
  const sigs = String(r!.headers['webhook-signature']).split(' ')
  assert.equal(sigs.length, 2, 'two signatures separated by a space')
  for (const sig of sigs) assert.match(sig, /^v1,[A-Za-z0-9+/]+=*$/)
  assert.deepEqual(new Webhook(old).verify(r!.body, headersOf(r!)), event)
  assert.deepEqual(new Webhook(rotated.signingSecret).verify(r!.body, headersOf(r!)), event)
  // Each secret has its own signature: the new one first, the old one beside it.
  const only = (sig: string): Record<string, string> => ({ ...headersOf(r!), 'webhook-signature': sig })
  assert.deepEqual(new Webhook(rotated.signingSecret).verify(r!.body, only(sigs[0]!)), event)
  assert.deepEqual(new Webhook(old).verify(r!.body, only(sigs[1]!)), event)
  assert.throws(() => new Webhook('whsec_' + Buffer.alloc(24, 7).toString('base64')).verify(r!.body, headersOf(r!)))
})

// ---- presence ---------------------------------------------------------------------------

test('presence callbacks: online, away, busy and offline arrive in order per user, with exactly the documented keys', async (t) => {
  const { s, d, rx, cb } = await withCallback(t, { MQCHAT_PRESENCE_GRACE_MS: '100' }, 'presence')
  const secret = (await cb.get()).signingSecret
  const from = nowSec()
  const of = (userid: number) => rx.requests.filter((r) => r.json?.userid === userid)
  const statuses = (userid: number) => of(userid).map((r) => r.json.status)

  const one = await s.connect(d, 1)
  const two = await s.connect(d, 2)
  await waitFor(() => statuses(1).length === 1 && statuses(2).length === 1, 'both online')
  await one.publishAsync(`chat/${d.id}/1/status`, JSON.stringify({ status: 'away' }), { qos: 1 })
  await waitFor(() => statuses(1).includes('away'), 'away')
  await one.publishAsync(`chat/${d.id}/1/status`, JSON.stringify({ status: 'busy' }), { qos: 1 })
  await one.endAsync()
  await two.endAsync()
  await waitFor(() => statuses(1).includes('offline') && statuses(2).includes('offline'), 'both offline')

  assert.deepEqual(statuses(1), ['online', 'away', 'busy', 'offline'])
  assert.deepEqual(statuses(2), ['online', 'offline'])
  const wh = new Webhook(secret)
  for (const userid of [1, 2]) {
    let last = 0
    for (const r of of(userid)) {
      const { userid: u, status, timestamp } = r.json
      assert.equal(r.body, JSON.stringify({ userid: u, status, timestamp }), 'exactly userid, status, timestamp')
      assert.deepEqual(Object.keys(r.json), ['userid', 'status', 'timestamp'])
      assert.equal(u, userid)
      assert.ok(Number.isInteger(timestamp) && timestamp >= from && timestamp <= nowSec(), `timestamp ${timestamp} is unix seconds of the change`)
      assert.ok(timestamp >= last, 'timestamps in order')
      last = timestamp
      assert.deepEqual(wh.verify(r.body, headersOf(r)), r.json)
      assert.equal(r.headers['content-type'], 'application/json')
    }
  }
  // (the receiver has each request before the server has recorded its answer)
  await waitFor(async () => (await cb.events()).items.every((e: { delivered: boolean }) => e.delivered), 'every event recorded as delivered')
  assert.equal((await cb.events()).items.length, 6)
})
