// Hostile receivers and URLs (SPEC §4, §4.4): receivers that hang, trickle bytes, answer
// 10 MB, close mid-response, redirect to 127.0.0.1, answer 200 after the time limit or send
// Retry-After: 99999999; URLs with user info, other schemes, over 2,048 characters, and the
// many spellings of loopback and private addresses. None may stall delivery for other
// domains, grow memory without bound, or crash the server.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { test, type TestContext } from 'node:test'
import { Sender } from '../src/callbacks/sender.ts'
import { checkUrl, embeddedIPv4, isPublicAddress, MAX_URL_CHARS } from '../src/callbacks/ssrf.ts'
import { callbackApi, carrying, RawReceiver, textsFrom, type CallbackApi } from './helpers/callbacks.ts'
import { answer, receiver } from './helpers/receiver.ts'
import { startServer, type TestServer } from './helpers/server.ts'
import { waitFor } from './helpers/wait.ts'

/** The time limit of one attempt in these tests: what a hostile receiver can make us wait. */
const TIMEOUT_MS = 1500
/** A healthy domain's event must arrive within this, whatever the hostile one does. */
const PROMPT_MS = 400

const ENV = {
  MQCHAT_CALLBACK_ALLOW_PRIVATE: '1',
  MQCHAT_CALLBACK_TIMEOUT_MS: String(TIMEOUT_MS),
  MQCHAT_CALLBACK_RETRY_DELAYS: '50ms,50ms,50ms'
}

interface Side { d: { id: string, apiKey: string, tokenSecret: string }, cb: CallbackApi }

/** One server; a hostile domain pointing at `hostileUrl`, a healthy one at its own receiver. */
async function twoDomains (t: TestContext, hostileUrl: string, env: Record<string, string> = {}) {
  const s = await startServer(t, {}, { ...ENV, ...env })
  const healthyRx = await receiver(t)
  const sides: Side[] = []
  for (const url of [hostileUrl, healthyRx.url]) {
    const d = await s.domain()
    const cb = callbackApi(s, d)
    const put = await cb.put({ url, enabled: true })
    assert.equal(put.status, 200, JSON.stringify(put.body))
    sides.push({ d, cb })
  }
  const [hostile, healthy] = sides as [Side, Side]
  let nextUser = 1000
  /** Sends `n` events on the healthy domain, one after another; each must arrive within PROMPT_MS. */
  const healthyIsPrompt = async (n = 3): Promise<void> => {
    for (let i = 0; i < n; i++) {
      const user = nextUser++
      const started = Date.now()
      await healthy.cb.send(user, `healthy ${user}`)
      const arrived = await waitFor(() => healthyRx.requests.find((r) => r.json?.from_userid === user), `the healthy domain's event of user ${user}`)
      const took = arrived.at - started
      assert.ok(took < PROMPT_MS, `the healthy domain's event took ${took} ms while the other domain's receiver misbehaves`)
    }
  }
  return { s, hostile, healthyRx, healthyIsPrompt }
}

async function stillServing (s: TestServer): Promise<void> {
  const res = await fetch(`${s.httpUrl}/healthz`)
  assert.equal(res.status, 200)
}

// ---- receivers -------------------------------------------------------------------------

test("a receiver that never answers holds only its own domain: another domain's events arrive promptly, and it catches up once it answers", async (t) => {
  const hostileRx = await receiver(t)
  hostileRx.respond = () => {}
  // Every hostile attempt hangs until the receiver starts answering, and the callback is
  // switched off once a user's last retry has failed: the most retries allowed (20), so that
  // on a busy machine, where the healthy checks below take longer, none runs out first.
  const { s, hostile, healthyRx, healthyIsPrompt } = await twoDomains(t, hostileRx.url, { MQCHAT_CALLBACK_RETRY_DELAYS: Array(20).fill('50ms').join(',') })
  // More users than one domain may have in flight at once.
  for (let u = 1; u <= 70; u++) await hostile.cb.send(u, `hostile ${u}`)
  await hostileRx.count(10)
  await healthyIsPrompt()
  // (sending the 70 may itself take longer than the time limit on a slow database: compare
  // with the hostile attempt that was the newest when the healthy events arrived)
  const lastHealthy = healthyRx.requests.at(-1)!.at
  const newestHostile = hostileRx.requests.filter((r) => r.at <= lastHealthy).at(-1)!.at
  assert.ok(lastHealthy < newestHostile + TIMEOUT_MS, 'the healthy events arrived while the hostile attempts were still hanging')

  // It starts answering: after the time limit and the back-off, everything gets through.
  hostileRx.respond = answer(200)
  await waitFor(async () => (await hostile.cb.events('?limit=1000')).items.filter((e) => e.delivered).length === 70, 'all 70 hostile events delivered', 60_000)
  const v = await hostile.cb.get()
  assert.equal(v.enabled, true)
  assert.equal(v.pending, 0)
  for (let u = 1; u <= 70; u++) assert.ok(textsFrom(hostileRx.requests, u).length >= 1)
  await stillServing(s)
})

test('a receiver that trickles its status line byte by byte is cut off at the time limit and retried; other domains are not held up', async (t) => {
  const raw = await new RawReceiver((socket) => {
    const line = 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok'
    let i = 0
    const timer = setInterval(() => {
      if (socket.destroyed || i >= line.length) return clearInterval(timer)
      socket.write(line[i++]!)
    }, 100)
    socket.on('close', () => clearInterval(timer))
  }).start(t)
  const { s, hostile, healthyIsPrompt } = await twoDomains(t, raw.url)
  await hostile.cb.send(1, 'slow')
  await waitFor(() => raw.connections >= 1, 'the hostile request')
  await healthyIsPrompt()
  const [log] = await hostile.cb.logsAtLeast(1, 10_000)
  assert.equal(log!.result, 'failed')
  assert.equal(log!.responseStatus, null)
  assert.match(log!.error!, /no answer in time/)
  assert.ok(log!.durationMs >= TIMEOUT_MS - 50 && log!.durationMs < TIMEOUT_MS + 500, `the attempt ended at the time limit (${log!.durationMs} ms)`)
  await raw.close()
  await stillServing(s)
})

test('a receiver that answers 200 and then trickles its body is delivered, and the connection is cut at the time limit', async (t) => {
  const hostileRx = await receiver(t)
  let closed = 0
  hostileRx.respond = (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.flushHeaders()
    const timer = setInterval(() => { if (!res.destroyed) res.write('.') }, 50)
    res.on('close', () => { clearInterval(timer); closed++ })
  }
  const { s, hostile, healthyIsPrompt } = await twoDomains(t, hostileRx.url)
  await hostile.cb.send(1, 'slow body')
  await hostileRx.count(1)
  await healthyIsPrompt()
  const [log] = await hostile.cb.logsAtLeast(1, 10_000)
  assert.equal(log!.result, 'ok')
  assert.equal(log!.responseStatus, 200)
  assert.ok(log!.durationMs < TIMEOUT_MS + 500, `the attempt ended by the time limit (${log!.durationMs} ms)`)
  assert.match(log!.responseBody!, /^\.*$/)
  assert.ok(log!.responseBody!.length < 1024)
  await waitFor(() => closed === 1, 'the server to hang up on the trickling receiver')
  await stillServing(s)
})

test('a receiver that answers 10 MB is read for its first KiB only, and memory does not grow with what it sends', async (t) => {
  const TEN_MB = 10 * 1024 * 1024
  const chunk = Buffer.alloc(64 * 1024, 'x')
  const answers: Array<{ sent: number, finished: boolean, closed: boolean }> = []
  const hostileRx = await receiver(t)
  hostileRx.respond = (_req, res) => {
    const a = { sent: 0, finished: false, closed: false }
    answers.push(a)
    res.writeHead(200, { 'content-length': String(TEN_MB), 'content-type': 'text/plain' })
    const pump = (): void => {
      while (a.sent < TEN_MB && !res.destroyed) {
        a.sent += chunk.length
        if (!res.write(chunk)) { res.once('drain', pump); return }
      }
      if (!res.destroyed) res.end()
    }
    res.on('finish', () => { a.finished = true })
    res.on('close', () => { a.closed = true })
    pump()
  }
  const { s, hostile, healthyIsPrompt } = await twoDomains(t, hostileRx.url)
  // One delivery first, so that what a first delivery allocates once is not counted.
  await hostile.cb.send(1, 'warm-up')
  await hostile.cb.logsAtLeast(1)
  const rssBefore = process.memoryUsage().rss
  for (let u = 2; u <= 11; u++) await hostile.cb.send(u, `big ${u}`)
  await healthyIsPrompt()
  const logs = await hostile.cb.logsAtLeast(11)
  const grewMb = (process.memoryUsage().rss - rssBefore) / 1024 / 1024
  for (const l of logs) {
    assert.equal(l.result, 'ok')
    assert.equal(l.responseStatus, 200)
    assert.ok(l.responseBody!.length <= 1024, `logged ${l.responseBody!.length} characters`)
    assert.equal(l.responseBody, 'x'.repeat(1024))
  }
  await waitFor(() => answers.length === 11 && answers.every((a) => a.closed), 'every 10 MB answer to be over')
  for (const a of answers) assert.equal(a.finished, false, `the server hung up before reading 10 MB (the receiver got ${a.sent} bytes out)`)
  assert.ok(grewMb < 50, `memory grew by ${grewMb.toFixed(1)} MB over ten 10 MB answers`)
  await stillServing(s)
})

test('a receiver that answers 64 MB of headers is cut off early: a failed attempt, nothing buffered, nothing crashes', async (t) => {
  // More than loopback's socket buffers can hold (up to about 10 MB between the two ends
  // here), so that what went out is what mqchat read, however late a loaded machine reads.
  const TOTAL = 64 * 1024 * 1024
  let sent = 0
  const raw = await new RawReceiver((socket) => {
    socket.write('HTTP/1.1 200 OK\r\nx-filler: ')
    const chunk = Buffer.alloc(64 * 1024, 'a')
    const pump = (): void => {
      while (sent < TOTAL && !socket.destroyed) {
        sent += chunk.length
        if (!socket.write(chunk)) { socket.once('drain', pump); return }
      }
    }
    pump()
  }).start(t)
  const { s, hostile, healthyIsPrompt } = await twoDomains(t, raw.url)
  await hostile.cb.send(1, 'a')
  await healthyIsPrompt()
  const logs = await hostile.cb.logsAtLeast(1)
  const first = logs.at(-1)!
  assert.equal(first.result, 'failed')
  assert.equal(first.responseStatus, null)
  assert.match(first.error!, /header/i)
  assert.ok(sent < TOTAL, `the server hung up before taking 64 MB of headers (${sent} bytes went out)`)
  await raw.close()
  await stillServing(s)
})

test('a receiver that closes the connection in the middle of its answer: the status counts, nothing hangs, nothing crashes', async (t) => {
  const hostileRx = await receiver(t)
  hostileRx.respond = (_req, res) => {
    res.writeHead(200, { 'content-length': '1000' })
    res.write('partial')
    setTimeout(() => res.destroy(), 20).unref()
  }
  const { s, hostile, healthyIsPrompt } = await twoDomains(t, hostileRx.url)
  await hostile.cb.send(1, 'a')
  await hostile.cb.send(1, 'b')
  await healthyIsPrompt()
  const logs = await hostile.cb.logsAtLeast(2)
  assert.deepEqual(logs.map((l) => [l.result, l.responseStatus, l.responseBody]), [['ok', 200, 'partial'], ['ok', 200, 'partial']])
  assert.deepEqual(textsFrom(hostileRx.requests, 1), ['a', 'b'])
  await stillServing(s)
})

test('a receiver that drops the connection just before the time limit and hangs on the next cannot stretch one attempt past the limit', async (t) => {
  let opened = 0
  const closedAt: number[] = []
  const raw = await new RawReceiver((socket) => {
    const n = ++opened
    socket.on('close', () => { closedAt[n] = Date.now() })
    // The first connection is dropped just before the time limit; the next one hangs.
    if (n === 1) setTimeout(() => socket.destroy(), TIMEOUT_MS - 200).unref()
  }).start(t)
  const { s, hostile, healthyIsPrompt } = await twoDomains(t, raw.url)
  const started = Date.now()
  await hostile.cb.send(1, 'a')
  await waitFor(() => opened >= 1, 'the first request')
  await healthyIsPrompt()
  const [log] = await hostile.cb.logsAtLeast(1, 10_000)
  const lastClose = Math.max(...closedAt.filter((x) => x !== undefined))
  assert.ok(log!.durationMs <= TIMEOUT_MS + 300, `one attempt took ${log!.durationMs} ms, over the ${TIMEOUT_MS} ms limit (${opened} connections)`)
  assert.ok(lastClose - started <= TIMEOUT_MS + 500, `the last connection of the attempt was closed ${lastClose - started} ms after the event`)
  await raw.close()
  await stillServing(s)
})

test('a receiver that drops the connection before answering is unreachable: the callback is disabled at once, the server carries on', async (t) => {
  const hostileRx = await receiver(t)
  hostileRx.respond = (_req, res) => { res.socket?.destroy() }
  const { s, hostile, healthyIsPrompt } = await twoDomains(t, hostileRx.url)
  await hostile.cb.send(1, 'a')
  const v = await hostile.cb.disabled()
  assert.match(v.disabledReason!, /unreachable/)
  await healthyIsPrompt()
  await stillServing(s)
})

test('a redirect to 127.0.0.1 or to the cloud metadata address is never followed', async (t) => {
  const canary = await receiver(t, '/steal')
  const hostileRx = await receiver(t)
  hostileRx.respond = (req, res) => {
    const text = req.json?.message?.message
    if (text === 'a') return answer(302, '', { location: canary.url })(req, res)
    if (text === 'b') return answer(307, '', { location: 'http://169.254.169.254/latest/meta-data/' })(req, res)
    if (text === 'c') return answer(308, '', { location: `http://[::ffff:127.0.0.1]:${new URL(canary.url).port}/steal` })(req, res)
    res.end('ok')
  }
  const { s, hostile, healthyIsPrompt } = await twoDomains(t, hostileRx.url)
  for (const text of ['a', 'b', 'c', 'd']) await hostile.cb.send(1, text)
  await waitFor(() => textsFrom(hostileRx.requests, 1).includes('d'), 'the event after the redirects')
  await healthyIsPrompt()
  assert.deepEqual(textsFrom(hostileRx.requests, 1), ['a', 'b', 'c', 'd'], 'each once: not retried')
  assert.equal(canary.requests.length, 0, 'the Location got nothing')
  const logs = await hostile.cb.logsAtLeast(4)
  assert.deepEqual(logs.map((l) => [l.result, l.responseStatus]), [['ok', 200], ['failed', 308], ['failed', 307], ['failed', 302]])
  assert.equal((await hostile.cb.get()).enabled, true)
  await stillServing(s)
})

test('a receiver that answers 200 only after the time limit: each attempt is a timeout, and after the last the callback is disabled', async (t) => {
  const hostileRx = await receiver(t)
  hostileRx.respond = (_req, res) => {
    setTimeout(() => { if (!res.destroyed) res.end('too late') }, 1500).unref()
  }
  const { s, hostile, healthyIsPrompt } = await twoDomains(t, hostileRx.url, { MQCHAT_CALLBACK_TIMEOUT_MS: '1000', MQCHAT_CALLBACK_RETRY_DELAYS: '50ms' })
  await hostile.cb.send(1, 'a')
  await hostileRx.count(1)
  await healthyIsPrompt()
  const v = await hostile.cb.disabled(10_000)
  assert.match(v.disabledReason!, /2 attempts failed.*no answer in time/)
  assert.equal(v.lastSuccessAt, null, 'a late 200 is not a delivery')
  const attempts = carrying(hostileRx.requests, 'a')
  assert.equal(attempts.length, 2)
  assert.equal(attempts[0]!.headers['webhook-id'], attempts[1]!.headers['webhook-id'])
  const logs = await hostile.cb.logs()
  assert.deepEqual(logs.map((l) => [l.attempt, l.result, l.responseStatus]), [[2, 'failed', null], [1, 'failed', null]])
  await stillServing(s)
})

test('Retry-After: 99999999 cannot park an event: the next attempt comes after the longest back-off step', async (t) => {
  const hostileRx = await receiver(t)
  hostileRx.respond = answer(429, 'go away', { 'retry-after': '99999999' })
  const { s, hostile, healthyIsPrompt } = await twoDomains(t, hostileRx.url, { MQCHAT_CALLBACK_RETRY_DELAYS: '50ms,1s' })
  await hostile.cb.send(1, 'a')
  await hostileRx.count(1)
  await healthyIsPrompt()
  const v = await hostile.cb.disabled(30_000)
  assert.match(v.disabledReason!, /3 attempts failed.*429/)
  const at = carrying(hostileRx.requests, 'a').map((r) => r.at)
  assert.equal(at.length, 3)
  // Each attempt ends after the receiver's reading of the clock and the wait runs from that
  // end, so a gap is never under the step; the upper bound only has to tell the 1 s step from
  // 99999999 s, and leaves seconds for a busy machine.
  for (const gap of [at[1]! - at[0]!, at[2]! - at[1]!]) {
    assert.ok(gap >= 1000 && gap < 10_000, `retried after ${gap} ms: the longest step (1 s), not 99999999 s`)
  }
  await stillServing(s)
})

// ---- URLs ------------------------------------------------------------------------------

test('callback URLs that point at loopback, private, link-local or unspecified addresses are refused with forbidden_target', async (t) => {
  const s = await startServer(t) // MQCHAT_CALLBACK_ALLOW_PRIVATE unset
  const d = await s.domain()
  const cb = callbackApi(s, d)
  const forbidden = [
    'http://127.0.0.1/', 'http://localhost/', 'http://[::1]/', 'http://[::ffff:127.0.0.1]/', 'http://2130706433/',
    'http://0x7f000001/', 'http://127.1/', 'http://0177.0.0.1/', 'http://127.0.0.1./', 'http://169.254.169.254/', 'http://10.0.0.1/',
    'http://192.168.1.1/', 'http://172.16.0.1/', 'http://100.64.0.1/', 'http://[fe80::1]/', 'http://[fd00::1]/', 'http://0.0.0.0/',
    'http://0/', 'http://[::]/', 'https://[::ffff:10.0.0.1]:8443/x', 'http://[64:ff9b::127.0.0.1]/', 'http://[2002:7f00:1::1]/'
  ]
  for (const url of forbidden) {
    const r = await cb.put({ url, enabled: true })
    assert.equal(r.status, 400, url)
    assert.equal(r.body.error.code, 'forbidden_target', url)
  }
  const v = await cb.get()
  assert.deepEqual([v.url, v.enabled], [null, false], 'nothing was stored')
})

test('callback URLs that are not absolute http(s), carry user info or exceed 2,048 characters are refused with invalid_url', async (t) => {
  const s = await startServer(t)
  const d = await s.domain()
  const cb = callbackApi(s, d)
  const host = 'http://8.8.8.8/'
  const invalid = [
    'ftp://x', 'ftp://8.8.8.8/', 'javascript:alert(1)', 'file:///etc/passwd', 'not a url', '/relative/path', '',
    'http://user:pass@example.com/', 'http://user@8.8.8.8/', 'https://:secret@8.8.8.8/',
    host + 'a'.repeat(MAX_URL_CHARS + 1 - host.length)
  ]
  for (const url of invalid) {
    const r = await cb.put({ url })
    assert.equal(r.status, 400, url)
    assert.equal(r.body.error.code, 'invalid_url', url.slice(0, 80))
  }
  const longest = host + 'a'.repeat(MAX_URL_CHARS - host.length)
  assert.equal(longest.length, 2048)
  const ok = await cb.put({ url: longest })
  assert.equal(ok.status, 200, JSON.stringify(ok.body))
  assert.equal(ok.body.url, longest)
  assert.equal(ok.body.enabled, false)
})

test('a callback set while private targets were allowed is refused when sending once they are not: disabled, nothing sent', async (t) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqchat-ssrf-'))
  t.after(() => fs.rmSync(dataDir, { recursive: true, force: true }))
  const rx = await receiver(t)
  const port = new URL(rx.url).port
  const loose = await startServer(t, {}, { ...ENV, MQCHAT_DATA_DIR: dataDir })
  const d = await loose.domain()
  const byName = `http://localhost:${port}/hook`
  assert.equal((await callbackApi(loose, d).put({ url: byName, enabled: true })).status, 200)
  assert.equal((await callbackApi(loose, d, 'presence').put({ url: rx.url, enabled: true })).status, 200)
  await callbackApi(loose, d).send(1, 'allowed then')
  await rx.count(1)
  await loose.stop()

  const strict = await startServer(t, {}, { MQCHAT_DATA_DIR: dataDir, MQCHAT_PRESENCE_GRACE_MS: '100' })
  const messages = callbackApi(strict, d)
  const presence = callbackApi(strict, d, 'presence')
  await messages.send(1, 'refused now')
  const user = await strict.connect(d, 5)
  const [vm, vp] = await Promise.all([messages.disabled(), presence.disabled()])
  assert.match(vm.disabledReason!, /not allowed.*localhost resolves to 127\.0\.0\.1/)
  assert.match(vp.disabledReason!, /not allowed.*127\.0\.0\.1/)
  await user.endAsync()
  assert.deepEqual(rx.requests.map((r) => r.json?.message?.message), ['allowed then'], 'nothing reached the private address')
  const again = await messages.put({ enabled: true })
  assert.equal(again.status, 400)
  assert.equal(again.body.error.code, 'forbidden_target')
})

// ---- the guard itself, as literal tables (pure) ---------------------------------------

test('isPublicAddress: special-purpose IPv4 and IPv6 ranges are refused, embedded IPv4 is judged by itself, public addresses pass', () => {
  const refused = [
    // IPv4
    '0.0.0.0', '0.1.2.3', '10.0.0.1', '10.255.255.255', '100.64.0.1', '100.127.255.255', '127.0.0.1', '127.255.255.254',
    '169.254.169.254', '172.16.0.1', '172.31.255.255', '192.0.0.1', '192.0.2.1', '192.88.99.1', '192.168.0.1',
    '198.18.0.1', '198.19.255.255', '198.51.100.1', '203.0.113.1', '224.0.0.1', '239.255.255.250', '240.0.0.1', '255.255.255.255',
    // IPv6
    '::', '::1', 'fe80::1', 'febf::1', 'fc00::1', 'fd00::1', 'fdff:ffff::1', 'fec0::1', 'ff02::1', 'ff05::2',
    '2001:db8::1', '100::1', '2001::1', '2001:20::1',
    // IPv4 inside IPv6: mapped, compatible, translated, NAT64, 6to4
    '::ffff:127.0.0.1', '::ffff:7f00:1', '::FFFF:7F00:1', '::ffff:10.0.0.1', '::ffff:169.254.169.254', '0:0:0:0:0:ffff:c0a8:101',
    '::127.0.0.1', '::ffff:0:127.0.0.1', '64:ff9b::127.0.0.1', '64:ff9b::a00:1', '64:ff9b:1::10.1.2.3', '2002:7f00:1::1', '2002:a9fe:a9fe::',
    // not an address at all
    'localhost', '', 'example.com', '127.0.0.1.nip.io'
  ]
  const allowed = [
    '8.8.8.8', '1.1.1.1', '9.9.9.9', '172.32.0.1', '172.15.255.255', '100.128.0.1', '100.63.255.255', '192.169.0.1', '11.0.0.1',
    '2606:4700::1111', '2001:4860:4860::8888', '2a00:1450:4001::1', '::ffff:8.8.8.8', '64:ff9b::8.8.8.8', '2002:808:808::1'
  ]
  for (const ip of refused) assert.equal(isPublicAddress(ip), false, `${ip} must be refused`)
  for (const ip of allowed) assert.equal(isPublicAddress(ip), true, `${ip} must be allowed`)
})

test('embeddedIPv4: the IPv4 address inside mapped, compatible, NAT64 and 6to4 forms', () => {
  const table: Array<[string, string | null]> = [
    ['::ffff:127.0.0.1', '127.0.0.1'], ['::ffff:7f00:1', '127.0.0.1'], ['::ffff:0:a00:1', '10.0.0.1'],
    ['64:ff9b::808:808', '8.8.8.8'], ['2002:c0a8:101::1', '192.168.1.1'], ['2606:4700::1111', null], ['fe80::1', null]
  ]
  for (const [ip, v4] of table) assert.equal(embeddedIPv4(ip), v4, ip)
})

test('checkUrl: the form of a URL, and its host when that is an address literal', () => {
  const table: Array<[string, boolean, 'ok' | 'invalid_url' | 'forbidden_target']> = [
    ['https://hooks.example.com/mqchat?x=1', false, 'ok'],
    ['http://8.8.8.8:8080/', false, 'ok'],
    ['http://[2606:4700::1111]/', false, 'ok'],
    ['HTTPS://8.8.8.8/', false, 'ok'],
    ['http://127.0.0.1:9/', false, 'forbidden_target'],
    ['http://127.0.0.1:9/', true, 'ok'],
    ['http://[::ffff:127.0.0.1]/', false, 'forbidden_target'],
    ['http://2130706433/', false, 'forbidden_target'],
    ['http://0x7f.1/', false, 'forbidden_target'],
    ['http://%31%32%37.0.0.1/', false, 'forbidden_target'],
    ['http://[fd12:3456::1]/', false, 'forbidden_target'],
    ['http://user:pass@8.8.8.8/', false, 'invalid_url'],
    ['http://user:pass@127.0.0.1/', true, 'invalid_url'],
    ['ws://8.8.8.8/', false, 'invalid_url'],
    ['mailto:a@b.c', false, 'invalid_url'],
    ['http//8.8.8.8/', false, 'invalid_url'],
    ['https://8.8.8.8/' + 'a'.repeat(MAX_URL_CHARS - 16), false, 'ok'],
    ['https://8.8.8.8/' + 'a'.repeat(MAX_URL_CHARS - 15), false, 'invalid_url']
  ]
  for (const [url, allowPrivate, want] of table) {
    const c = checkUrl(url, allowPrivate)
    assert.equal(c.ok ? 'ok' : c.code, want, `${url.slice(0, 60)} (private ${allowPrivate ? 'allowed' : 'refused'})`)
  }
  const named = checkUrl('https://hooks.example.com/x', false)
  assert.ok(named.ok && named.ip === null, 'a name is left to the resolver (checked when sending)')
  const literal = checkUrl('http://[2606:4700::1111]:81/', false)
  assert.ok(literal.ok && literal.ip === '2606:4700::1111')
})

test('the sending guard: a name that resolves to loopback, or a loopback literal, is refused at send time and nothing is sent', async (t) => {
  const rx = await receiver(t)
  const port = new URL(rx.url).port
  const sender = new Sender({ timeoutMs: 1000, allowPrivate: false, userAgent: 'mqchat/test' })
  t.after(() => sender.close())
  for (const url of [`http://localhost:${port}/hook`, `http://127.0.0.1:${port}/hook`, `http://[::ffff:127.0.0.1]:${port}/hook`, `http://2130706433:${port}/hook`]) {
    const r = await sender.send({ pool: 'test', url, webhookId: 'msg_test', body: '{}', secrets: ['whsec_' + Buffer.alloc(24, 1).toString('base64')] })
    assert.equal(r.status, null, url)
    assert.equal(r.errorCode, 'FORBIDDEN_TARGET', url)
  }
  assert.equal(rx.requests.length, 0)
})
