// SPEC §6, faults: PostgreSQL unreachable at start and while running. The path to the
// database is cut with a proxy of the test's own; the machine's PostgreSQL keeps running.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import mqtt from 'mqtt'
import { callbackApi, closedPort, FAST_ENV } from './helpers/callbacks.ts'
import { freshDatabase } from './helpers/postgres.ts'
import { run, tempDir } from './helpers/process.ts'
import { receiver } from './helpers/receiver.ts'
import { Inbox, startServer } from './helpers/server.ts'
import { TcpProxy } from './helpers/tcp-proxy.ts'
import { waitFor } from './helpers/wait.ts'

test('PostgreSQL unreachable at start: one line naming MQCHAT_DATABASE_URL, and a non-zero exit', async (t) => {
  const p = run(t, { MQCHAT_DATA_DIR: tempDir(t), MQCHAT_ADMIN_KEY: 'test-operator-key-0123456789', MQCHAT_DATABASE_URL: `postgres://postgres@127.0.0.1:${await closedPort()}/mqchat` })
  assert.equal(await p.exited, 1)
  const lines = p.stderr().trim().split('\n')
  assert.equal(lines.length, 1, p.stderr())
  assert.match(lines[0]!, /^mqchat: MQCHAT_DATABASE_URL: cannot connect to PostgreSQL: .*ECONNREFUSED/)
})

test('while PostgreSQL is cut off: /healthz 503, sends refused with unavailable and never PUBACKed; back on its own, nothing accepted lost', async (t) => {
  const url = new URL(await freshDatabase())
  const proxy = await new TcpProxy(url.hostname, Number(url.port)).start(t)
  url.host = `127.0.0.1:${proxy.port}`
  const s = await startServer(t, {}, { ...FAST_ENV, MQCHAT_DATABASE_URL: url.toString() })
  const health = async () => (await fetch(`${s.httpUrl}/healthz`)).status
  const d = await s.domain()
  const rx = await receiver(t)
  const cb = callbackApi(s, d)
  assert.equal((await cb.put({ url: rx.url, enabled: true })).status, 200)

  // A user who keeps sending, with mqtt.js's own reconnection (as a widget would).
  const token = await s.token(d, 1)
  const client = mqtt.connect(s.mqttUrl, { username: `${d.id}/1`, password: token, reconnectPeriod: 100, connectTimeout: 2000 })
  t.after(() => client.endAsync(true))
  const inbox = new Inbox(client)
  await new Promise((resolve) => client.once('connect', resolve))
  await client.subscribeAsync(`chat/${d.id}/1/ack`)
  const acked = (text: string) => client.publishAsync(`chat/${d.id}/1/send`, JSON.stringify({ to_userid: 2, message: text, type: 0, cid: text }), { qos: 1 })

  assert.equal(await health(), 200)
  // The database goes away while 'before' is at the receiver: its outcome cannot be recorded
  // then, and must be once the database is back (or the user's next events would wait
  // behind it until its lease ran out, and it would be sent twice).
  rx.respond = (req, res) => {
    if (req.json?.message?.message === 'before') proxy.cut()
    res.end('ok')
  }
  await acked('before')
  await rx.count(1)

  proxy.cut()
  await waitFor(async () => await health() === 503, '/healthz 503 while the database is cut off')
  let pubacked = false
  const during = acked('during').then(() => { pubacked = true })
  const refused = await inbox.next((m) => m.payload?.cid === 'during' && m.payload.error !== undefined, 'the unavailable ack')
  assert.equal(refused.payload.error.code, 'unavailable')
  await new Promise<void>((resolve) => client.once('close', () => resolve()))
  assert.equal(pubacked, false, 'no PUBACK for what was not stored')
  // A REST send is refused the same way, with 503.
  const rest = await s.api('POST', `/api/v1/domains/${d.id}/messages`, { from_userid: 3, to_userid: 4, message: 'rest', type: 0 }, d.apiKey)
  assert.equal(rest.status, 503)
  assert.equal(rest.body.error.code, 'unavailable')

  proxy.restore()
  await waitFor(async () => await health() === 200, '/healthz 200 once the database is back', 15_000)
  // mqtt.js sends the unacknowledged message again once it is back in: now it is stored.
  await during
  await acked('after')
  await rx.count(3, 15_000)
  const texts = rx.requests.map((r) => r.json.message.message)
  assert.deepEqual(texts, ['before', 'during', 'after'], 'each accepted message called back once, in order')
  const history = await s.api('GET', `/api/v1/domains/${d.id}/messages?userid=1&peer=2`, undefined, d.apiKey)
  assert.deepEqual(history.body.messages.map((m: any) => m.message.message), ['after', 'during', 'before'])
})
