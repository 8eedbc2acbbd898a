import assert from 'node:assert/strict'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { test } from 'node:test'
import mqtt from 'mqtt'
import { processApi, run, tempDir } from './helpers/process.ts'

const KEY = 'process-test-operator-key-42'

const api = async (port: number, method: string, p: string, body?: unknown, key = KEY): Promise<any> =>
  (await processApi(port, KEY)(method, p, body, key)).body

test('a port in use ends start-up with one line naming the setting, and a non-zero exit', async (t) => {
  const blocker = net.createServer()
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
  t.after(() => blocker.close())
  const port = (blocker.address() as net.AddressInfo).port
  const p = run(t, { MQCHAT_DATA_DIR: tempDir(t), MQCHAT_MQTT_PORT: String(port), MQCHAT_ADMIN_KEY: KEY })
  assert.equal(await p.exited, 1)
  assert.equal(p.stderr().trim(), `mqchat: MQCHAT_MQTT_PORT: port ${port} on 127.0.0.1 is already in use; set MQCHAT_MQTT_PORT to a free port`)
})

test('bad settings end start-up with one line each, naming them', async (t) => {
  const p = run(t, { MQCHAT_DATA_DIR: tempDir(t), MQCHAT_HTTP_PORT: 'eighty', MQCHAT_USER_RATE: 'fast', MQCHAT_DATABASE_URL: 'mysql://127.0.0.1/x' })
  assert.equal(await p.exited, 1)
  const lines = p.stderr().trim().split('\n')
  assert.equal(lines.length, 3)
  assert.match(lines[0]!, /^mqchat: MQCHAT_HTTP_PORT must be a port number/)
  assert.match(lines[1]!, /^mqchat: MQCHAT_DATABASE_URL must be a postgres:\/\/ URL/)
  assert.match(lines[2]!, /^mqchat: MQCHAT_USER_RATE must look like 20\/1s,burst=60/)
})

test('an unwritable data dir is named', async (t) => {
  const file = path.join(tempDir(t), 'a-file')
  fs.writeFileSync(file, 'x')
  const p = run(t, { MQCHAT_DATA_DIR: path.join(file, 'data') })
  assert.equal(await p.exited, 1)
  assert.match(p.stderr(), /MQCHAT_DATA_DIR/)
})

test('the operator key is generated on first start, saved privately and printed once', async (t) => {
  const dir = tempDir(t)
  const first = run(t, { MQCHAT_DATA_DIR: dir })
  const { httpPort } = await first.ready
  const key = fs.readFileSync(path.join(dir, 'operator-key'), 'utf8').trim()
  assert.equal(fs.statSync(path.join(dir, 'operator-key')).mode & 0o777, 0o600)
  assert.ok(first.stderr().includes(key), 'printed on the terminal')
  assert.ok(!first.stdout().includes(key), 'never in the JSON log')
  assert.deepEqual(await api(httpPort, 'GET', '/api/v1/domains', undefined, key), { domains: [] })
  first.child.kill('SIGTERM')
  assert.equal(await first.exited, 0)
  const second = run(t, { MQCHAT_DATA_DIR: dir })
  await second.ready
  assert.ok(!second.stderr().includes(key), 'not printed again')
  second.child.kill('SIGINT')
  assert.equal(await second.exited, 0)
})

test('SIGTERM stops cleanly: exit 0, messages kept, users offline, logs JSON without secrets', async (t) => {
  const dir = tempDir(t)
  const p = run(t, { MQCHAT_DATA_DIR: dir, MQCHAT_ADMIN_KEY: KEY, MQCHAT_CALLBACK_ALLOW_PRIVATE: '1' })
  const { httpPort, mqttPort } = await p.ready
  const d = await api(httpPort, 'POST', '/api/v1/domains', { id: 'acme', name: 'Acme' })
  const { token } = await api(httpPort, 'POST', '/api/v1/domains/acme/users/2/token', {}, d.apiKey)
  // Customers put tokens in callback URLs: neither it nor the signing secret may be logged.
  const cb = await api(httpPort, 'PUT', '/api/v1/domains/acme/callbacks/messages', { url: 'http://127.0.0.1:9/hook?token=url-secret-123' }, d.apiKey)
  assert.equal(cb.url, 'http://127.0.0.1:9/hook?token=url-secret-123')
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { username: 'acme/2', password: token, reconnectPeriod: 0 })
  const acks: unknown[] = []
  client.on('message', (_t, b) => acks.push(JSON.parse(b.toString())))
  await client.subscribeAsync('chat/acme/2/ack', { qos: 1 })
  for (let i = 0; i < 20; i++) await client.publishAsync('chat/acme/2/send', JSON.stringify({ to_userid: 3, message: `m${i}`, type: 0 }), { qos: 1 })
  const closed = new Promise<void>((resolve) => client.on('close', () => resolve()))
  p.child.kill('SIGTERM')
  assert.equal(await p.exited, 0)
  await closed
  client.end(true)
  const lines = p.stdout().trim().split('\n')
  for (const line of lines) JSON.parse(line)
  for (const secret of [KEY, d.apiKey, d.tokenSecret, token, 'url-secret-123', cb.signingSecret]) assert.ok(!p.stdout().includes(secret), `no secret in the log: ${secret.slice(0, 8)}…`)
  assert.match(p.stdout(), /"msg":"callback updated"/)
  assert.match(lines.at(-1)!, /"msg":"stopped"/)

  const again = run(t, { MQCHAT_DATA_DIR: dir, MQCHAT_ADMIN_KEY: KEY })
  const ports = await again.ready
  const hist = await api(ports.httpPort, 'GET', '/api/v1/domains/acme/messages?userid=2&limit=100', undefined, d.apiKey)
  assert.equal(hist.messages.length, 20)
  const presence = await api(ports.httpPort, 'GET', '/api/v1/domains/acme/presence', undefined, d.apiKey)
  assert.deepEqual(presence.users.map((u: any) => [u.userid, u.status]), [[2, 'offline']])
  again.child.kill('SIGTERM')
  assert.equal(await again.exited, 0)
})

test('after a crash (SIGKILL) the users left online go offline at the next start, with events', async (t) => {
  const dir = tempDir(t)
  const p = run(t, { MQCHAT_DATA_DIR: dir, MQCHAT_ADMIN_KEY: KEY })
  const { httpPort, mqttPort } = await p.ready
  const d = await api(httpPort, 'POST', '/api/v1/domains', { id: 'acme', name: 'Acme' })
  const clients = []
  for (const u of [1, 2]) {
    const { token } = await api(httpPort, 'POST', `/api/v1/domains/acme/users/${u}/token`, {}, d.apiKey)
    clients.push(await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { username: `acme/${u}`, password: token, reconnectPeriod: 0 }))
  }
  for (;;) {
    const online = await api(httpPort, 'GET', '/api/v1/domains/acme/presence?status=online', undefined, d.apiKey)
    if (online.users.length === 2) break
  }
  p.child.kill('SIGKILL')
  await p.exited
  for (const c of clients) c.end(true)

  const again = run(t, { MQCHAT_DATA_DIR: dir, MQCHAT_ADMIN_KEY: KEY })
  const ports = await again.ready
  const presence = await api(ports.httpPort, 'GET', '/api/v1/domains/acme/presence', undefined, d.apiKey)
  assert.deepEqual(presence.users.map((u: any) => u.status), ['offline', 'offline'])
  again.child.kill('SIGTERM')
  assert.equal(await again.exited, 0)
  const { SqliteStore } = await import('../src/store/sqlite/index.ts')
  const { createLogger } = await import('../src/log.ts')
  const store = new SqliteStore(dir, 'reader', createLogger('silent'))
  await store.open()
  t.after(() => store.close())
  const events = (await store.listEvents('acme', 'presence', 0, 100)).map((e) => JSON.parse(e.body))
  assert.deepEqual(events.map((e) => `${e.userid}:${e.status}`).sort(), ['1:offline', '1:online', '2:offline', '2:online'])
})
