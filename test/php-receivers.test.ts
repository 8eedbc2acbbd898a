// The product documentation's own PHP receivers (test/fixtures/php/), served by PHP's
// built-in web server (`php -S`, Debian's php-cli: scripts/test-deps.sh installs it) as a
// customer would run them: they read php://input, json_decode it, verify the Standard
// Webhooks signature (401 when it does not verify) and append one line per event to a file.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createHmac } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { test, type TestContext } from 'node:test'
import { startServer, type TestServer } from './helpers/server.ts'
import { waitFor } from './helpers/wait.ts'
import { freePort } from './helpers/ports.ts'

const FIXTURES = path.join(import.meta.dirname, 'fixtures', 'php')
const PRIVATE_OK = { MQCHAT_CALLBACK_ALLOW_PRIVATE: '1' }

interface PhpSite {
  dir: string
  base: string
  /** the lines of a file the receivers append to (none yet: []) */
  lines: (file: string) => string[]
  setSecret: (kind: 'presence' | 'messages', secret: string) => void
}

/** The fixtures copied to a fresh directory and served by `php -S 127.0.0.1:<port> -t <dir>`. */
async function phpSite (t: TestContext): Promise<PhpSite> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqchat-php-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  for (const f of fs.readdirSync(FIXTURES)) fs.copyFileSync(path.join(FIXTURES, f), path.join(dir, f))
  const port = await freePort()
  const php = spawn('php', ['-S', `127.0.0.1:${port}`, '-t', dir], { stdio: ['ignore', 'ignore', 'pipe'] })
  let log = ''
  php.stderr!.on('data', (b) => { log += b })
  const exited = new Promise<void>((resolve) => php.once('exit', () => resolve()))
  php.once('error', (err) => { log += `spawn failed: ${err.message} (is php-cli installed? scripts/test-deps.sh installs it)` })
  t.after(async () => {
    if (php.exitCode === null && php.signalCode === null) php.kill('SIGTERM')
    await exited
  })
  const base = `http://127.0.0.1:${port}`
  await waitFor(async () => {
    if (php.exitCode !== null || log.includes('spawn failed')) throw new Error(`php -S did not start: ${log}`)
    return (await fetch(`${base}/missing`).catch(() => null)) !== null
  }, `php -S on port ${port} (${log})`, 10_000)
  return {
    dir,
    base,
    lines: (file) => {
      const p = path.join(dir, file)
      return fs.existsSync(p) ? fs.readFileSync(p, 'utf8').split('\n').filter((l) => l !== '') : []
    },
    setSecret: (kind, secret) => fs.writeFileSync(path.join(dir, `${kind}.secret`), secret)
  }
}

/** Turns a callback on at `url` after giving the PHP side its signing secret. */
async function enable (s: TestServer, d: { id: string, apiKey: string }, site: PhpSite, kind: 'presence' | 'messages', url: string): Promise<string> {
  const p = `/api/v1/domains/${d.id}/callbacks/${kind}`
  const settings = await s.api('GET', p, undefined, d.apiKey)
  assert.equal(settings.status, 200)
  site.setSecret(kind, settings.body.signingSecret)
  const put = await s.api('PUT', p, { url, enabled: true }, d.apiKey)
  assert.equal(put.status, 200, JSON.stringify(put.body))
  assert.equal(put.body.enabled, true)
  return settings.body.signingSecret
}

/** Waits until `file` holds exactly `expected` (and no more arrives for a moment). */
async function expectLines (site: PhpSite, file: string, expected: string[], timeoutMs = 10_000): Promise<void> {
  await waitFor(() => site.lines(file).length >= expected.length, `${expected.length} lines in ${file} (have ${JSON.stringify(site.lines(file))})`, timeoutMs)
  assert.deepEqual(site.lines(file), expected)
}

test('the documented PHP receivers get every presence change and message, in order, and verify the signatures', async (t) => {
  const site = await phpSite(t)
  const s = await startServer(t, {}, { ...PRIVATE_OK, MQCHAT_PRESENCE_GRACE_MS: '150' })
  const d = await s.domain()
  await enable(s, d, site, 'presence', `${site.base}/status-callback.php`)
  await enable(s, d, site, 'messages', `${site.base}/messages-callback.php`)

  // Presence of user 7: two tabs are one presence; away and busy are its own; offline only
  // once the last connection has stayed closed past the grace time.
  const status: string[] = []
  const tab1 = await s.connect(d, 7)
  status.push('7:online')
  await expectLines(site, 'status.txt', status)
  const tab2 = await s.connect(d, 7)
  await tab1.publishAsync(`chat/${d.id}/7/status`, JSON.stringify({ status: 'away' }), { qos: 1 })
  status.push('7:away')
  await expectLines(site, 'status.txt', status)
  await tab2.publishAsync(`chat/${d.id}/7/status`, JSON.stringify({ status: 'away' }), { qos: 1 }) // no change: no event
  await tab2.publishAsync(`chat/${d.id}/7/status`, JSON.stringify({ status: 'busy' }), { qos: 1 })
  status.push('7:busy')
  await expectLines(site, 'status.txt', status)
  await tab1.endAsync()
  const other = await s.connect(d, 8)
  status.push('8:online')
  await expectLines(site, 'status.txt', status)
  await tab2.endAsync()
  status.push('7:offline')
  await expectLines(site, 'status.txt', status)

  // Messages: 30 from user 8 over MQTT as fast as it can publish, then some from the
  // customer's server through the API; each sender's are called back in the order sent.
  const messages: string[] = []
  for (let i = 1; i <= 30; i++) {
    void other.publishAsync(`chat/${d.id}/8/send`, JSON.stringify({ to_userid: 7, message: `hello ${i}`, type: 0, cid: String(i) }), { qos: 1 })
    messages.push(`8:7:hello ${i}`)
  }
  await expectLines(site, 'messages.txt', messages)
  for (const text of ['from the server', 'héllo ✓ «utf-8»', 'a: colon']) {
    const r = await s.api('POST', `/api/v1/domains/${d.id}/messages`, { from_userid: 3601, to_userid: 8, message: text, type: 0 }, d.apiKey)
    assert.equal(r.status, 201)
    messages.push(`3601:8:${text}`)
  }
  await expectLines(site, 'messages.txt', messages)

  // During a secret rotation the old secret keeps signing beside the new one: the PHP side,
  // still configured with the old one, keeps verifying.
  const rotated = await s.api('POST', `/api/v1/domains/${d.id}/callbacks/messages/rotate-secret`, undefined, d.apiKey)
  assert.equal(rotated.status, 200)
  assert.equal((await s.api('POST', `/api/v1/domains/${d.id}/messages`, { from_userid: 3601, to_userid: 8, message: 'after rotation', type: 0 }, d.apiKey)).status, 201)
  messages.push('3601:8:after rotation')
  await expectLines(site, 'messages.txt', messages)

  await other.endAsync()
  status.push('8:offline')
  await expectLines(site, 'status.txt', status)
  // (the receiver has written each line before the server has recorded its answer)
  const logsNow = () => s.api('GET', `/api/v1/domains/${d.id}/callbacks/messages/logs?limit=500`, undefined, d.apiKey)
  await waitFor(async () => (await logsNow()).body.items.length >= messages.length, 'every attempt logged')
  for (const kind of ['presence', 'messages']) {
    await waitFor(async () => (await s.api('GET', `/api/v1/domains/${d.id}/callbacks/${kind}`, undefined, d.apiKey)).body.pending === 0, `${kind}: nothing pending`)
  }
  const logs = await logsNow()
  assert.equal(logs.body.items.length, messages.length, 'one attempt per message: none was refused or sent twice')
  assert.ok(logs.body.items.every((l: any) => l.result === 'ok' && l.responseStatus === 200))
  for (const kind of ['presence', 'messages']) {
    const cb = await s.api('GET', `/api/v1/domains/${d.id}/callbacks/${kind}`, undefined, d.apiKey)
    assert.equal(cb.body.enabled, true)
    assert.equal(cb.body.pending, 0)
  }
})

test('the PHP receiver answers 401 to a signature that does not verify', async (t) => {
  const site = await phpSite(t)
  const s = await startServer(t, {}, PRIVATE_OK)
  const d = await s.domain()
  const secret = await enable(s, d, site, 'messages', `${site.base}/messages-callback.php`)
  const testSend = (): Promise<{ status: number, body: any }> => s.api('POST', `/api/v1/domains/${d.id}/callbacks/messages/test`, undefined, d.apiKey)

  // mqchat's own test send verifies in PHP ...
  const good = await testSend()
  assert.equal(good.status, 200)
  assert.deepEqual([good.body.result, good.body.responseStatus], ['ok', 200])
  assert.deepEqual(site.lines('messages.txt'), ['1:2:This is a test from mqchat'])

  // ... and with the wrong secret on the PHP side it does not (a test send changes no state).
  site.setSecret('messages', 'whsec_' + Buffer.alloc(24, 7).toString('base64'))
  const bad = await testSend()
  assert.deepEqual([bad.body.result, bad.body.responseStatus], ['failed', 401])
  site.setSecret('messages', secret)

  // Requests forged by hand: the right HMAC over a changed body, the wrong key, an old
  // timestamp, no signature. Only the genuine one is accepted.
  const body = JSON.stringify({ from_userid: 2, message: { id: 1, message: 'forged?', p1: '', p2: '', p3: '', timestamp: 1, type: 0 }, to_userid: 3 })
  const now = Math.floor(Date.now() / 1000)
  const sig = (key: Buffer, id: string, ts: number, b: string): string => 'v1,' + createHmac('sha256', key).update(`${id}.${ts}.${b}`).digest('base64')
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64')
  const post = async (headers: Record<string, string>, b = body): Promise<number> =>
    (await fetch(`${site.base}/messages-callback.php`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: b })).status
  assert.equal(await post({ 'webhook-id': 'msg_a', 'webhook-timestamp': String(now), 'webhook-signature': sig(key, 'msg_a', now, body) }), 200)
  assert.equal(await post({ 'webhook-id': 'msg_b', 'webhook-timestamp': String(now), 'webhook-signature': sig(key, 'msg_b', now, body) }, body.replace('forged?', 'forged!')), 401)
  assert.equal(await post({ 'webhook-id': 'msg_c', 'webhook-timestamp': String(now), 'webhook-signature': sig(Buffer.alloc(24, 1), 'msg_c', now, body) }), 401)
  assert.equal(await post({ 'webhook-id': 'msg_d', 'webhook-timestamp': String(now - 3600), 'webhook-signature': sig(key, 'msg_d', now - 3600, body) }), 401)
  assert.equal(await post({ 'webhook-id': 'msg_e', 'webhook-timestamp': String(now) }), 401)
  assert.deepEqual(site.lines('messages.txt'), ['1:2:This is a test from mqchat', '2:3:forged?'])

  // A real event signed with a secret PHP does not know: 401, and (SPEC §4.4) the callback
  // is disabled at once, with the reason.
  site.setSecret('messages', 'whsec_' + Buffer.alloc(24, 9).toString('base64'))
  assert.equal((await s.api('POST', `/api/v1/domains/${d.id}/messages`, { from_userid: 5, to_userid: 6, message: 'refused', type: 0 }, d.apiKey)).status, 201)
  const cb = await waitFor(async () => {
    const r = await s.api('GET', `/api/v1/domains/${d.id}/callbacks/messages`, undefined, d.apiKey)
    return r.body.enabled === false ? r.body : null
  }, 'the callback to be disabled')
  assert.match(cb.disabledReason, /401/)
  assert.equal(site.lines('messages.txt').length, 2, 'nothing refused was written')
})
