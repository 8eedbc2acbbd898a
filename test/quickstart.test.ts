// The README's quick start and its mqtt.js snippet, run as written (curl and
// mosquitto-clients; node), against a real server: if the README's commands stop working,
// this fails.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import { test } from 'node:test'
import { promisify } from 'node:util'
import { ROOT } from './helpers/child.ts'
import { startServer } from './helpers/server.ts'

const README = new URL('../README.md', import.meta.url)
const run = promisify(execFile)

/** The first fenced block of `lang` after `heading` in the README. */
function block (heading: string, lang: string): string {
  const readme = fs.readFileSync(README, 'utf8')
  const section = readme.slice(readme.indexOf(heading))
  return new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(section)![1]!
}

test('the README quick start works as written, as a script, and again on a second run', async (t) => {
  const s = await startServer(t)
  const lines = block('## Quick start', 'sh').split('\n')
  assert.match(lines[0]!, /^HTTP=http:\/\/localhost:8080 MQTT_PORT=1884 OP=/, 'the block starts by naming the server')
  lines[0] = `HTTP=${s.httpUrl} MQTT_PORT=${s.app.mqttPort} OP=${s.operatorKey}`
  const script = lines.join('\n')
  assert.doesNotMatch(script, /kill %/, 'no job specs: a script has no job control')

  for (const round of ['first run', 'second run']) {
    const { stdout } = await run('bash', ['-e', '-c', script], { timeout: 30_000 })
    if (round === 'first run') {
      assert.match(stdout, /^\{"id":"acme","name":"Acme Ltd","apiKey":"mqk_[^"]+","tokenSecret":"[^"]+"\}$/m)
    } else {
      assert.match(stdout, /^\{"error":\{"code":"domain_exists","message":/m, `${round}: the domain exists`)
    }
    const inbox = /^chat\/acme\/3601\/inbox (.*)$/m.exec(stdout)
    assert.ok(inbox, `${round}: user 3601 got the message:\n${stdout}`)
    const event = JSON.parse(inbox[1]!)
    assert.deepEqual({ ...event, message: { ...event.message, id: 0, timestamp: 0 } },
      { from_userid: 2, message: { id: 0, message: 'ok', p1: '', p2: '', p3: '', timestamp: 0, type: 0 }, to_userid: 3601 })
    const ack = /^chat\/acme\/2\/ack (.*)$/m.exec(stdout)
    assert.ok(ack, `${round}: user 2 got its ack`)
    assert.deepEqual(JSON.parse(ack[1]!), { cid: 'first', event })
    // the retained presence lines the README shows
    assert.match(stdout, /^chat\/acme\/2\/presence \{"userid":2,"status":"online","timestamp":\d+\}$/m, `${round}: user 2 online`)
    assert.match(stdout, /^chat\/acme\/3601\/presence \{"userid":3601,"status":"online","timestamp":\d+\}$/m, `${round}: user 3601 online`)
    const history = /^\{"messages":(.*)\}$/m.exec(stdout)
    assert.ok(history, `${round}: history over the API`)
    assert.deepEqual(JSON.parse(history[1]!)[0], event, `${round}: the newest message first`)
    // both listeners keep their users online
    assert.match(stdout, /^\{"users":\[\{"userid":2,"status":"online","timestamp":\d+\},\{"userid":3601,"status":"online","timestamp":\d+\}\]\}$/m)
    // step 6: once the listeners are gone, user 2's own topic says offline
    assert.match(stdout, /^chat\/acme\/2\/presence \{"userid":2,"status":"offline","timestamp":\d+\}$/m, `${round}: user 2 offline at the end`)
  }
})

test('the README mqtt.js snippet runs as pasted: token, SUBACK before the send, its ack, history', async (t) => {
  const s = await startServer(t)
  const d = await s.domain('acme')
  const code = block('The same from Node with', 'js')
  assert.match(code, /^import mqtt from 'mqtt'$/m, 'an ES module')
  const here = code.replace("'http://localhost:8080'", `'${s.httpUrl}'`).replace("'ws://localhost:8080/mqtt'", `'${s.wsUrl}'`)
  assert.notEqual(here, code, 'the snippet names the server as the README says')
  // As `node chat.mjs` in a project with mqtt installed: an ES module resolved from the repo.
  const { stdout } = await run(process.execPath, ['--input-type=module', '--eval', here], {
    cwd: ROOT, timeout: 20_000, env: { PATH: process.env.PATH, KEY: d.apiKey }
  })
  const ack = /^chat\/acme\/2\/ack (\{"cid":"c1",.*)$/m.exec(stdout)
  assert.ok(ack, `the send's ack arrived:\n${stdout}`)
  const event = JSON.parse(ack[1]!).event
  assert.equal(event.message.message, 'hi')
  assert.match(stdout, new RegExp(`^sent, id ${event.message.id}$`, 'm'))
  assert.match(stdout, /^history: 1 messages$/m)
  assert.match(stdout, /^chat\/acme\/2\/presence \{"userid":2,"status":"away","timestamp":\d+\}$/m, 'its own status change, seen on the wildcard')
})

test('the README people snippet runs as pasted: names, typing, unread count and the read tick', async (t) => {
  const s = await startServer(t)
  const d = await s.domain('acme')
  const code = block('### Names, typing, read ticks and unread counts', 'js')
  const here = code.replace("'http://localhost:8080'", `'${s.httpUrl}'`).replace("'ws://localhost:8080/mqtt'", `'${s.wsUrl}'`)
  assert.notEqual(here, code, 'the snippet names the server as the README says')
  const { stdout } = await run(process.execPath, ['--input-type=module', '--eval', here], {
    cwd: ROOT, timeout: 20_000, env: { PATH: process.env.PATH, KEY: d.apiKey }
  })
  assert.match(stdout, /^Bob sees \{"kind":"typing","from_userid":2\}$/m)
  assert.match(stdout, /^Bob: Ada wrote "hello Bob", 1 unread$/m)
  const tick = /^Ada sees (\{"kind":"read".*)$/m.exec(stdout)
  assert.ok(tick, stdout)
  const read = JSON.parse(tick[1]!)
  assert.deepEqual(Object.keys(read), ['kind', 'userid', 'peer', 'up_to', 'timestamp'])
  assert.deepEqual([read.userid, read.peer], [3601, 2])
  assert.match(stdout, new RegExp(`^Ada: Bob has read up to ${read.up_to}$`, 'm'))
})

test('the README files walk-through works as written: a photo uploaded with a token, sent as type 2, fetched without its EXIF', async (t) => {
  const sharp = (await import('sharp')).default
  const { photoWithExif } = await import('./helpers/media.ts')
  const s = await startServer(t)
  const dir = fs.mkdtempSync(`${os.tmpdir()}/mqchat-readme-`)
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  fs.writeFileSync(`${dir}/photo.jpg`, await photoWithExif())
  const lines = block('## Quick start', 'sh').split('\n')
  lines[0] = `HTTP=${s.httpUrl} MQTT_PORT=${s.app.mqttPort} OP=${s.operatorKey}`
  const script = `${lines.join('\n')}\n${block('## Files', 'sh')}`
  const { stdout } = await run('bash', ['-e', '-c', script], { timeout: 40_000, cwd: dir })

  const up = JSON.parse(/^(\{"id":"[^"]+","url":.*)$/m.exec(stdout)![1]!)
  assert.equal(up.contentType, 'image/jpeg')
  assert.deepEqual([up.width, up.height], [200, 400])
  const inbox = [...stdout.matchAll(/^chat\/acme\/3601\/inbox (.*)$/mg)].map((m) => JSON.parse(m[1]!))
  const picture = inbox.find((e) => e.message.type === 2)
  assert.ok(picture, `the recipient got the picture message:\n${stdout}`)
  assert.equal(picture.message.message, up.url)
  assert.equal(picture.message.p1, 'photo.jpg')
  assert.match(stdout, /^x-content-type-options: nosniff\r?$/m)
  const received = fs.readFileSync(`${dir}/received.jpg`)
  const meta = await sharp(received).metadata()
  assert.equal(meta.exif, undefined, 'its EXIF is gone')
  assert.deepEqual([meta.width, meta.height], [200, 400], 'upright')
  assert.deepEqual(fs.readFileSync(`${dir}/first-kb.jpg`), received.subarray(0, 1024), 'the first KiB (or all of a smaller file)')
})
