// The callback calls of SPEC §2 and §4.4–§4.6, as a customer's code and the admin panel
// make them: settings, validation, test sends, logs, replay, the event feed, and who may
// touch which domain's callbacks.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Webhook } from 'standardwebhooks'
import { callbackApi, carrying, closedPort, FAST_ENV, headersOf, textsFrom, withCallback } from './helpers/callbacks.ts'
import { answer, receiver } from './helpers/receiver.ts'
import { startServer } from './helpers/server.ts'
import { waitFor } from './helpers/wait.ts'

const SETTINGS_KEYS = ['kind', 'url', 'enabled', 'disabledReason', 'disabledAt', 'signingSecret', 'pending', 'lastSuccessAt', 'lastFailureAt']
const LOG_KEYS = ['id', 'eventId', 'at', 'url', 'requestBody', 'responseStatus', 'responseBody', 'durationMs', 'error', 'attempt', 'result']
const sorted = (a: string[]): string[] => [...a].sort()
const nowSec = (): number => Math.floor(Date.now() / 1000)

// ---- settings ----------------------------------------------------------------------------

test('GET callback settings answers exactly the documented fields, off by default, for both kinds', async (t) => {
  const s = await startServer(t, {}, FAST_ENV)
  const d = await s.domain()
  for (const kind of ['presence', 'messages'] as const) {
    const r = await s.api('GET', `/api/v1/domains/${d.id}/callbacks/${kind}`, undefined, d.apiKey)
    assert.equal(r.status, 200)
    assert.deepEqual(sorted(Object.keys(r.body)), sorted(SETTINGS_KEYS))
    const { signingSecret, ...rest } = r.body
    assert.deepEqual(rest, { kind, url: null, enabled: false, disabledReason: null, disabledAt: null, pending: 0, lastSuccessAt: null, lastFailureAt: null })
    assert.match(signingSecret, /^whsec_[A-Za-z0-9+/]{32}$/)
  }
  // The secret is made once and kept.
  const a = await callbackApi(s, d).get()
  const b = await callbackApi(s, d).get()
  assert.equal(a.signingSecret, b.signingSecret)
  assert.notEqual(a.signingSecret, (await callbackApi(s, d, 'presence').get()).signingSecret)
})

test('PUT sets the URL and switches the callback on and off; the answer is the settings', async (t) => {
  const s = await startServer(t, {}, FAST_ENV)
  const d = await s.domain()
  const rx = await receiver(t)
  const cb = callbackApi(s, d)
  const setUrl = await cb.put({ url: rx.url })
  assert.equal(setUrl.status, 200)
  assert.deepEqual(sorted(Object.keys(setUrl.body)), sorted(SETTINGS_KEYS))
  assert.deepEqual([setUrl.body.url, setUrl.body.enabled], [rx.url, false], 'a URL alone does not switch it on')
  const on = await cb.put({ enabled: true })
  assert.deepEqual([on.body.url, on.body.enabled], [rx.url, true])
  const off = await cb.put({ enabled: false })
  assert.deepEqual([off.body.url, off.body.enabled, off.body.disabledReason], [rx.url, false, null])
  assert.deepEqual(await cb.get(), off.body)
})

test('PUT refuses an empty body, unknown or mistyped fields, and switching on without a URL, and changes nothing', async (t) => {
  const s = await startServer(t, {}, FAST_ENV)
  const d = await s.domain()
  const rx = await receiver(t)
  const cb = callbackApi(s, d)
  const before = await cb.get()
  const cases: Array<[string, unknown, string, RegExp]> = [
    ['an empty object', {}, 'invalid_request', /url|enabled/],
    ['an unknown field', { url: rx.url, enabled: true, colour: 'red' }, 'invalid_request', /colour/],
    ['enabled that is not a boolean', { enabled: 'yes' }, 'invalid_request', /enabled/],
    ['a URL that is not a string', { url: 42 }, 'invalid_request', /url/],
    ['null', null, 'invalid_request', /./],
    ['not JSON', '{"url":', 'invalid_json', /JSON/],
    ['switching on without a URL', { enabled: true }, 'invalid_url', /URL/]
  ]
  for (const [what, body, code, message] of cases) {
    const r = await s.api('PUT', cb.path, body, d.apiKey)
    assert.equal(r.status, 400, what)
    assert.equal(r.body.error.code, code, what)
    assert.match(r.body.error.message, message, what)
  }
  const empty = await fetch(s.httpUrl + cb.path, { method: 'PUT', headers: { authorization: `Bearer ${d.apiKey}` } })
  assert.equal(empty.status, 400, 'no body at all')
  assert.deepEqual(await cb.get(), before)
})

// ---- test send ---------------------------------------------------------------------------

test('POST …/test sends one signed sample event now and answers what the receiver did, changing no state', async (t) => {
  const { s, d, rx, cb } = await withCallback(t)
  rx.respond = answer(200, 'got it')
  const before = await cb.get()
  const r = await cb.test()
  assert.equal(r.status, 200)
  assert.deepEqual(sorted(Object.keys(r.body)), sorted(['result', 'responseStatus', 'responseBody', 'durationMs', 'error', 'requestBody']))
  assert.equal(r.body.result, 'ok')
  assert.equal(r.body.responseStatus, 200)
  assert.equal(r.body.responseBody, 'got it')
  assert.equal(r.body.error, null)
  assert.ok(Number.isInteger(r.body.durationMs) && r.body.durationMs >= 0)

  assert.equal(rx.requests.length, 1, 'sent once, at once')
  const [req] = rx.requests
  assert.equal(req!.body, r.body.requestBody)
  assert.equal(req!.headers['mqchat-test'], '1')
  const sample = new Webhook(before.signingSecret).verify(req!.body, headersOf(req!)) as any
  assert.deepEqual(Object.keys(sample), ['from_userid', 'message', 'to_userid'])
  assert.deepEqual(Object.keys(sample.message), ['id', 'message', 'p1', 'p2', 'p3', 'timestamp', 'type'])

  assert.deepEqual(await cb.get(), before, 'lastSuccessAt, pending and the rest unchanged')
  assert.deepEqual(await cb.logs(), [], 'a test is not logged')
  assert.deepEqual((await cb.events()).items, [], 'nor an event')

  // The presence sample has the presence shape.
  const presence = callbackApi(s, d, 'presence')
  assert.equal((await presence.put({ url: rx.url })).status, 200)
  const p = await presence.test()
  assert.equal(p.body.result, 'ok')
  assert.deepEqual(Object.keys(JSON.parse(p.body.requestBody)), ['userid', 'status', 'timestamp'])
})

test('a test send to a receiver that answers 401, or that nobody answers at, reports it and does not disable the callback', async (t) => {
  const { rx, cb } = await withCallback(t)
  rx.respond = answer(401, 'who are you')
  const before = await cb.get()
  const r = await cb.test()
  assert.equal(r.status, 200)
  assert.equal(r.body.result, 'failed')
  assert.equal(r.body.responseStatus, 401)
  assert.equal(r.body.responseBody, 'who are you')
  assert.match(r.body.error, /401/)
  assert.deepEqual(await cb.get(), before, 'still enabled, no reason, no failure time')

  const port = await closedPort()
  assert.equal((await cb.put({ url: `http://127.0.0.1:${port}/hook` })).status, 200)
  const refused = await cb.test()
  assert.equal(refused.body.result, 'failed')
  assert.equal(refused.body.responseStatus, null)
  assert.equal(refused.body.responseBody, null)
  assert.match(refused.body.error, /unreachable/)
  const after = await cb.get()
  assert.deepEqual([after.enabled, after.disabledReason, after.lastFailureAt], [true, null, null])
  assert.deepEqual(await cb.logs(), [])
})

test('a test send needs a URL: 400 invalid_url without one', async (t) => {
  const s = await startServer(t, {}, FAST_ENV)
  const d = await s.domain()
  const r = await callbackApi(s, d).test()
  assert.equal(r.status, 400)
  assert.equal(r.body.error.code, 'invalid_url')
})

// ---- logs --------------------------------------------------------------------------------


test('logs: newest first, filtered by result, paged with before and limit, each attempt with the documented fields', async (t) => {
  const { s, d, rx, cb } = await withCallback(t)
  // 'bad' messages get a 422: failed, not retried, so each event is one attempt.
  rx.respond = (req, res) => req.json?.message?.message.startsWith('bad') ? answer(422, 'no')(req, res) : answer(200, 'yes')(req, res)
  const texts = ['ok1', 'bad2', 'ok3', 'ok4', 'bad5', 'ok6']
  for (const text of texts) await cb.send(1, text)
  await cb.logsAtLeast(6)

  const all = await cb.logs()
  assert.equal(all.length, 6)
  assert.deepEqual(all.map((l) => JSON.parse(l.requestBody).message.message), [...texts].reverse(), 'newest first')
  for (let i = 1; i < all.length; i++) assert.ok(all[i - 1]!.id > all[i]!.id)
  for (const l of all) {
    for (const k of LOG_KEYS) assert.ok(k in l, `log item has ${k}`)
    const bad = JSON.parse(l.requestBody).message.message.startsWith('bad')
    assert.deepEqual([l.result, l.responseStatus, l.responseBody, l.attempt], bad ? ['failed', 422, 'no', 1] : ['ok', 200, 'yes', 1])
    assert.equal(l.error === null, !bad)
    assert.equal(l.url, rx.url)
    assert.ok(Number.isInteger(l.durationMs))
    assert.ok(Math.abs(l.at - nowSec()) <= 5, 'at is unix seconds')
  }
  const feed = (await cb.events()).items
  assert.deepEqual(all.map((l) => l.eventId), feed.map((e) => e.id).reverse())

  const ok = await cb.logs('?result=ok')
  assert.deepEqual(ok.map((l) => l.id), all.filter((l) => l.result === 'ok').map((l) => l.id))
  const failed = await cb.logs('?result=failed')
  assert.deepEqual(failed.map((l) => l.id), all.filter((l) => l.result === 'failed').map((l) => l.id))

  const pages: number[][] = []
  let before = ''
  for (;;) {
    const page = await cb.logs(`?limit=2${before}`)
    if (page.length === 0) break
    pages.push(page.map((l) => l.id))
    before = `&before=${page.at(-1)!.id}`
  }
  assert.deepEqual(pages, [all.slice(0, 2), all.slice(2, 4), all.slice(4, 6)].map((p) => p.map((l) => l.id)))
  const okAfterFirst = await cb.logs(`?result=ok&limit=10&before=${ok[0]!.id}`)
  assert.deepEqual(okAfterFirst.map((l) => l.id), ok.slice(1).map((l) => l.id))

  for (const q of ['?limit=0', '?limit=501', '?result=maybe', '?before=abc', '?colour=red']) {
    const r = await s.api('GET', `${cb.path}/logs${q}`, undefined, d.apiKey)
    assert.equal(r.status, 400, q)
    assert.equal(r.body.error.code, 'invalid_request', q)
  }
})

test('logs: without a limit, the 50 newest attempts', async (t) => {
  const { cb } = await withCallback(t)
  for (let u = 1; u <= 55; u++) await cb.send(u, `m${u}`)
  await waitFor(async () => (await cb.logs('?limit=500')).length === 55, '55 attempts logged')
  const page = await cb.logs()
  assert.equal(page.length, 50)
  assert.deepEqual(page.map((l) => l.id), (await cb.logs('?limit=500')).slice(0, 50).map((l) => l.id))
})

// ---- replay ------------------------------------------------------------------------------

test('replay {"since"} answers {"queued":N} for the events since then and sends them again, in order, with the same webhook-id', async (t) => {
  const { s, d, rx, cb } = await withCallback(t)
  const secret = (await cb.get()).signingSecret
  await cb.send(1, 'old1')
  await cb.send(1, 'old2')
  await rx.count(2)
  // The next events must fall in a later second than these: `since` is in seconds.
  const oldSecond = Math.max(...(await cb.events()).items.map((e) => e.at))
  await waitFor(() => nowSec() > oldSecond, 'the next second')
  const since = nowSec()
  for (const text of ['new1', 'new2', 'new3']) await cb.send(1, text)
  await rx.count(5)
  const firstIds = Object.fromEntries(rx.requests.map((r) => [r.json.message.message, r.headers['webhook-id']]))

  const r = await s.api('POST', `${cb.path}/replay`, { since }, d.apiKey)
  assert.equal(r.status, 200)
  assert.deepEqual(r.body, { queued: 3 })
  await rx.count(8)
  const replayed = rx.requests.slice(5)
  assert.deepEqual(textsFrom(replayed, 1), ['new1', 'new2', 'new3'])
  for (const req of replayed) {
    assert.equal(req.headers['webhook-id'], firstIds[req.json.message.message], 'the same webhook-id as the first time')
    new Webhook(secret).verify(req.body, headersOf(req))
  }
  await waitFor(async () => (await cb.get()).pending === 0, 'nothing pending')
  const logs = await cb.logs()
  assert.equal(logs.length, 8, 'each replayed send is logged')

  const all = await s.api('POST', `${cb.path}/replay`, { since: 0 }, d.apiKey)
  assert.deepEqual(all.body, { queued: 5 })
  await rx.count(13)
  assert.deepEqual(textsFrom(rx.requests.slice(8), 1), ['old1', 'old2', 'new1', 'new2', 'new3'])
  const future = await s.api('POST', `${cb.path}/replay`, { since: nowSec() + 3600 }, d.apiKey)
  assert.deepEqual(future.body, { queued: 0 })
})

test("a replay asked for while the user's newest event is in flight still ends with that event: all of them again, in order", async (t) => {
  const { s, d, rx, cb } = await withCallback(t, { MQCHAT_CALLBACK_TIMEOUT_MS: '5000' })
  let release!: () => void
  const released = new Promise<void>((resolve) => { release = resolve })
  rx.respond = async (req, res) => {
    if (req.json?.message?.message === 'c' && carrying(rx.requests, 'c').length === 1) await released
    res.end('ok')
  }
  await cb.send(1, 'a')
  await cb.send(1, 'b')
  await cb.send(1, 'c')
  await waitFor(() => textsFrom(rx.requests, 1).includes('c'), "'c' in flight")
  const r = await s.api('POST', `${cb.path}/replay`, { since: 0 }, d.apiKey)
  assert.deepEqual(r.body, { queued: 3 })
  release()
  await waitFor(async () => (await cb.get()).pending === 0, 'the replay done')
  // Read by a customer who applies events as they come, the last one must be the newest.
  assert.deepEqual(textsFrom(rx.requests, 1), ['a', 'b', 'c', 'a', 'b', 'c'], 'the three queued events sent again, in order, after the one in flight')
})

test('replay to a disabled callback is refused with 409 callback_disabled; a bad body with 400', async (t) => {
  const { s, d, cb } = await withCallback(t)
  await cb.send(1, 'a')
  await cb.logsAtLeast(1)
  for (const body of [{}, { since: 'yesterday' }, { since: -1 }, { since: 1, extra: true }]) {
    const r = await s.api('POST', `${cb.path}/replay`, body, d.apiKey)
    assert.equal(r.status, 400, JSON.stringify(body))
    assert.equal(r.body.error.code, 'invalid_request', JSON.stringify(body))
  }
  assert.equal((await cb.put({ enabled: false })).status, 200)
  const r = await s.api('POST', `${cb.path}/replay`, { since: 0 }, d.apiKey)
  assert.equal(r.status, 409)
  assert.equal(r.body.error.code, 'callback_disabled')
  assert.equal((await cb.get()).pending, 0, 'nothing was queued')
  const never = await s.api('POST', `/api/v1/domains/${d.id}/callbacks/presence/replay`, { since: 0 }, d.apiKey)
  assert.equal(never.status, 409)
  assert.equal(never.body.error.code, 'callback_disabled')
})

// ---- event feed --------------------------------------------------------------------------

test('the event feed lists every event oldest first, delivered or not, and pages with after and next', async (t) => {
  const s = await startServer(t, {}, FAST_ENV)
  const d = await s.domain()
  const rx = await receiver(t)
  const cb = callbackApi(s, d)
  const sent = [await cb.send(1, 'while off'), await cb.send(2, 'also off')]
  assert.equal((await cb.put({ url: rx.url, enabled: true })).status, 200)
  sent.push(await cb.send(1, 'on1'), await cb.send(3, 'on2'), await cb.send(1, 'on3'))
  await rx.count(3)
  await waitFor(async () => (await cb.events()).items.filter((e) => e.delivered).length === 3, 'three delivered')

  const whole = await cb.events()
  assert.equal(whole.items.length, 5)
  for (const item of whole.items) assert.deepEqual(sorted(Object.keys(item)), sorted(['id', 'webhookId', 'at', 'body', 'delivered']))
  assert.deepEqual(whole.items.map((e) => e.body), sent, 'the callback bodies, oldest first')
  assert.deepEqual(whole.items.map((e) => e.delivered), [false, false, true, true, true])
  for (let i = 1; i < 5; i++) assert.ok(whole.items[i]!.id > whole.items[i - 1]!.id)
  assert.equal(whole.next, whole.items[4]!.id)
  for (const e of whole.items) assert.ok(Math.abs(e.at - nowSec()) <= 5, 'at is unix seconds')
  const delivered = new Map(rx.requests.map((r) => [r.json.message.message, r.headers['webhook-id']]))
  for (const e of whole.items.slice(2)) assert.equal(e.webhookId, delivered.get(e.body.message.message))

  const seen: number[] = []
  let after = 0
  for (;;) {
    const page = await cb.events(`?after=${after}&limit=2`)
    if (page.items.length === 0) {
      assert.equal(page.next, after, 'at the end, next stays where it was')
      break
    }
    assert.ok(page.items.length <= 2)
    seen.push(...page.items.map((e) => e.id))
    assert.equal(page.next, page.items.at(-1)!.id)
    after = page.next
  }
  assert.deepEqual(seen, whole.items.map((e) => e.id))

  // The presence feed is its own.
  assert.deepEqual((await callbackApi(s, d, 'presence').events()).items, [])
  for (const q of ['?limit=0', '?limit=1001', '?after=x']) {
    const r = await s.api('GET', `${cb.path}/events${q}`, undefined, d.apiKey)
    assert.equal(r.status, 400, q)
  }
})

// ---- who may call, and what ---------------------------------------------------------------

test("a domain key cannot see or change another domain's callbacks (404), the operator key can", async (t) => {
  const s = await startServer(t, {}, FAST_ENV)
  const mine = await s.domain()
  const theirs = await s.domain()
  const rx = await receiver(t)
  const base = `/api/v1/domains/${theirs.id}/callbacks/messages`
  const calls: Array<[string, string, unknown]> = [
    ['GET', base, undefined],
    ['PUT', base, { url: rx.url, enabled: true }],
    ['POST', `${base}/rotate-secret`, undefined],
    ['POST', `${base}/test`, undefined],
    ['GET', `${base}/logs`, undefined],
    ['POST', `${base}/replay`, { since: 0 }],
    ['GET', `${base}/events`, undefined]
  ]
  const before = await callbackApi(s, theirs).get()
  for (const [method, path, body] of calls) {
    const r = await s.api(method, path, body, mine.apiKey)
    assert.equal(r.status, 404, `${method} ${path}`)
    assert.equal(r.body.error.code, 'not_found', `${method} ${path}`)
    const anon = await s.api(method, path, body, 'not-a-key')
    assert.equal(anon.status, 401, `${method} ${path} without a valid key`)
  }
  assert.deepEqual(await callbackApi(s, theirs).get(), before, 'nothing changed, the secret is not rotated')
  assert.equal(rx.requests.length, 0, 'no test was sent')

  const op = await s.api('PUT', base, { url: rx.url, enabled: true })
  assert.equal(op.status, 200)
  assert.equal(op.body.enabled, true)
  const unknown = await s.api('GET', '/api/v1/domains/no-such-domain/callbacks/messages')
  assert.equal(unknown.status, 404)
})

test('a kind other than presence or messages is refused with 400', async (t) => {
  const s = await startServer(t, {}, FAST_ENV)
  const d = await s.domain()
  for (const kind of ['email', 'Presence', 'MESSAGES', 'message']) {
    const base = `/api/v1/domains/${d.id}/callbacks/${kind}`
    for (const [method, path, body] of [['GET', base, undefined], ['PUT', base, { enabled: false }], ['GET', `${base}/logs`, undefined],
      ['POST', `${base}/replay`, { since: 0 }], ['GET', `${base}/events`, undefined], ['POST', `${base}/test`, undefined]] as Array<[string, string, unknown]>) {
      const r = await s.api(method, path, body, d.apiKey)
      assert.equal(r.status, 400, `${method} ${path}`)
      assert.equal(r.body.error.code, 'invalid_request', `${method} ${path}`)
      assert.match(r.body.error.message, /kind/, `${method} ${path}`)
    }
  }
})
