// The README's quick start (scripts/quickstart.sh) and the snippets of docs/, run as written
// (curl and mosquitto-clients; node), against a real server: if the commands the documents
// show stop working, this fails.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { test } from 'node:test'
import { promisify } from 'node:util'
import { ROOT } from './helpers/child.ts'
import { run as runProcess, processApi, tempDir } from './helpers/process.ts'
import { startServer } from './helpers/server.ts'

const run = promisify(execFile)
const QUICKSTART = path.join(ROOT, 'scripts/quickstart.sh')

/** The first fenced block of `lang` after `heading` in a document of the repository. */
function block (doc: string, heading: string, lang: string): string {
  const text = fs.readFileSync(path.join(ROOT, doc), 'utf8')
  const at = text.indexOf(heading)
  assert.notEqual(at, -1, `${doc} has "${heading}"`)
  return new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(text.slice(at))![1]!
}

/** The quick start's commands, without the script's header (shebang, comments, set -euo pipefail). */
const quickstartCommands = (): string => fs.readFileSync(QUICKSTART, 'utf8').split('\n').filter((_, i, lines) => i >= lines.findIndex((l) => l.startsWith('set -'))! + 1).join('\n')

test('the README quick start is scripts/quickstart.sh, as it stands', () => {
  const shown = block('README.md', '## A first message in a minute', 'sh')
  assert.equal(shown, quickstartCommands(), 'the README shows the commands of scripts/quickstart.sh, exactly')
  assert.match(shown, /^HTTP=\$\{HTTP:-http:\/\/localhost:8080\} MQTT_PORT=\$\{MQTT_PORT:-1884\} OP=\$\{OP:-\$\(cat data\/operator-key\)\}$/m, 'it names the server of `MQCHAT_MQTT_PORT=1884 npm start`')
  assert.doesNotMatch(shown, /kill %/, 'no job specs: a script has no job control')
})

test('the quick start works on a freshly started server, twice in a row: the second run prints the new domain key', async (t) => {
  // As a new user runs it: `npm start` (its operator key generated into data/), then the
  // script from the same folder, which reads data/operator-key. Only the ports differ.
  const dir = tempDir(t)
  const proc = runProcess(t, { MQCHAT_DATA_DIR: path.join(dir, 'data') })
  const { httpPort, mqttPort } = await proc.ready
  const env = { PATH: process.env.PATH, HTTP: `http://127.0.0.1:${httpPort}`, MQTT_PORT: String(mqttPort) }
  const operatorKey = fs.readFileSync(path.join(dir, 'data/operator-key'), 'utf8').trim()
  const api = processApi(httpPort, operatorKey)
  const keys: string[] = []
  for (const round of ['first run', 'second run']) {
    const { stdout } = await run('bash', [QUICKSTART], { timeout: 40_000, cwd: dir, env })
    if (round === 'first run') {
      assert.match(stdout, /^\{"id":"acme","name":"Acme Ltd","apiKey":"mqk_[^"]+","tokenSecret":"[^"]+"\}$/m)
    } else {
      assert.match(stdout, /^\{"error":\{"code":"domain_exists","message":/m, `${round}: the domain exists`)
    }
    const key = /^KEY=(mqk_\S+)$/m.exec(stdout)
    assert.ok(key, `${round}: the domain key is printed:\n${stdout}`)
    keys.push(key[1]!)
    const me = await api('GET', '/api/v1/me', undefined, key[1]!)
    assert.deepEqual([me.status, me.body.kind, me.body.domain?.id], [200, 'domain', 'acme'], `${round}: the printed key is acme's key`)
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
  assert.notEqual(keys[0], keys[1], 'the second run rotated the key')
  assert.equal((await api('GET', '/api/v1/me', undefined, keys[0]!)).status, 401, 'the first run\'s key no longer works')
})

test('the mqtt.js snippet of docs/client.md runs as pasted: token, SUBACK before the send, its ack, history', async (t) => {
  const s = await startServer(t)
  const d = await s.domain('acme')
  const code = block('docs/client.md', '## From Node with mqtt.js', 'js')
  assert.match(code, /^import mqtt from 'mqtt'$/m, 'an ES module')
  const here = code.replace("'http://localhost:8080'", `'${s.httpUrl}'`).replace("'ws://localhost:8080/mqtt'", `'${s.wsUrl}'`)
  assert.notEqual(here, code, 'the snippet names the server as the quick start does')
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

test('the people snippet of docs/client.md runs as pasted, twice, on a domain with history: names, typing, 1 unread and the read tick', async (t) => {
  const s = await startServer(t)
  const d = await s.domain('acme')
  // What the quick start and the mqtt.js snippet leave: messages from 2 to 3601, unread.
  for (const text of ['ok', 'hi']) {
    const r = await s.api('POST', '/api/v1/domains/acme/messages', { from_userid: 2, to_userid: 3601, message: text, type: 0 }, d.apiKey)
    assert.equal(r.status, 201)
  }
  const code = block('docs/client.md', '### Names, typing, read ticks and unread counts', 'js')
  const here = code.replace("'http://localhost:8080'", `'${s.httpUrl}'`).replace("'ws://localhost:8080/mqtt'", `'${s.wsUrl}'`)
  assert.notEqual(here, code, 'the snippet names the server as the quick start does')
  for (const round of ['first run', 'second run']) {
    const { stdout } = await run(process.execPath, ['--input-type=module', '--eval', here], {
      cwd: ROOT, timeout: 20_000, env: { PATH: process.env.PATH, KEY: d.apiKey }
    })
    assert.match(stdout, /^Bob sees \{"kind":"typing","from_userid":2\}$/m, round)
    assert.match(stdout, /^Bob: Ada wrote "hello Bob", 1 unread$/m, `${round}: what the snippet's comment says:\n${stdout}`)
    const tick = /^Ada sees (\{"kind":"read".*)$/m.exec(stdout)
    assert.ok(tick, stdout)
    const read = JSON.parse(tick[1]!)
    assert.deepEqual(Object.keys(read), ['kind', 'userid', 'peer', 'up_to', 'timestamp'])
    assert.deepEqual([read.userid, read.peer], [3601, 2])
    assert.match(stdout, new RegExp(`^Ada: Bob has read up to ${read.up_to}$`, 'm'))
  }
})

test('the files walk-through of docs/api.md works as written, after the quick start: a photo uploaded with a token, sent as type 2, fetched without its EXIF', async (t) => {
  const sharp = (await import('sharp')).default
  const { photoWithExif } = await import('./helpers/media.ts')
  const s = await startServer(t)
  const dir = fs.mkdtempSync(`${os.tmpdir()}/mqchat-readme-`)
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  fs.writeFileSync(`${dir}/photo.jpg`, await photoWithExif())
  // In the quick start's terminal: its variables are set.
  const script = `${quickstartCommands()}\n${block('docs/api.md', '## Files: pictures and voice records', 'sh')}`
  const env = { PATH: process.env.PATH, HTTP: s.httpUrl, MQTT_PORT: String(s.app.mqttPort), OP: s.operatorKey }
  const { stdout } = await run('bash', ['-e', '-c', script], { timeout: 40_000, cwd: dir, env })

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
