// The README's quick start, run as written (curl and mosquitto-clients), against a real
// server: if the README's commands stop working, this fails.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import { test } from 'node:test'
import { promisify } from 'node:util'
import { startServer } from './helpers/server.ts'

const README = new URL('../README.md', import.meta.url)

test('the README quick start works as written', async (t) => {
  const s = await startServer(t)
  const readme = fs.readFileSync(README, 'utf8')
  const section = readme.slice(readme.indexOf('## Quick start'))
  const block = /```sh\n([\s\S]*?)```/.exec(section)![1]!
  const lines = block.split('\n')
  assert.match(lines[0]!, /^HTTP=http:\/\/localhost:8080 MQTT_PORT=1884 OP=/, 'the block starts by naming the server')
  lines[0] = `HTTP=${s.httpUrl} MQTT_PORT=${s.app.mqttPort} OP=${s.operatorKey}`
  const { stdout } = await promisify(execFile)('bash', ['-e', '-c', lines.join('\n')], { timeout: 20_000 })

  assert.match(stdout, /^\{"id":"acme","name":"Acme Ltd","apiKey":"mqk_[^"]+","tokenSecret":"[^"]+"\}$/m)
  const inbox = /^chat\/acme\/3601\/inbox (.*)$/m.exec(stdout)
  assert.ok(inbox, `user 3601 got the message:\n${stdout}`)
  const event = JSON.parse(inbox[1]!)
  assert.deepEqual({ ...event, message: { ...event.message, id: 0, timestamp: 0 } },
    { from_userid: 2, message: { id: 0, message: 'ok', p1: '', p2: '', p3: '', timestamp: 0, type: 0 }, to_userid: 3601 })
  const ack = /^chat\/acme\/2\/ack (.*)$/m.exec(stdout)
  assert.ok(ack, 'user 2 got its ack')
  assert.deepEqual(JSON.parse(ack[1]!), { cid: 'first', event })
  assert.match(stdout, /^chat\/acme\/3601\/presence \{"userid":3601,"status":"online","timestamp":\d+\}$/m)
  assert.ok(stdout.includes(`{"messages":[${JSON.stringify(event)}]}`), 'history over the API')
  // both listeners keep their users online
  assert.match(stdout, /^\{"users":\[\{"userid":2,"status":"online","timestamp":\d+\},\{"userid":3601,"status":"online","timestamp":\d+\}\]\}$/m)
})
