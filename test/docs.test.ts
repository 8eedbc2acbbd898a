// The documents a user reads: README.md and docs/. docs/api.md is what scripts/api-doc.ts
// makes from the server; every link between them leads somewhere that exists; none cites
// anything outside the repository; the PHP verifier they show verifies what mqchat sends.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createHmac } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { test } from 'node:test'
import { API_DOC, anchor, renderApiDoc } from '../scripts/api-doc.ts'
import { ROOT } from './helpers/child.ts'
import { startServer } from './helpers/server.ts'
import { waitFor } from './helpers/wait.ts'
import { freePort } from './helpers/ports.ts'

const DOCS = ['README.md', ...fs.readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)]
const read = (doc: string): string => fs.readFileSync(path.join(ROOT, doc), 'utf8')

/** The text outside fenced blocks and inline code, where links and headings are. */
const prose = (text: string): string => text.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '')

/** The anchors of a document's headings, as GitHub makes them (a repeated one gets -1, -2…). */
function anchors (doc: string): Set<string> {
  const seen = new Map<string, number>()
  const out = new Set<string>()
  for (const m of prose(read(doc)).matchAll(/^#{1,6} +(.+?) *$/gm)) {
    const a = anchor(m[1]!.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1'))
    const n = seen.get(a) ?? 0
    seen.set(a, n + 1)
    out.add(n === 0 ? a : `${a}-${n}`)
  }
  return out
}

// Made by `npm run screenshots` (the widget's work): linked before they exist in every branch.
const SCREENSHOTS_TO_COME = new Set(['docs/images/widget-light.png'])

test('docs/api.md is what scripts/api-doc.ts makes from the server (run `npm run docs` after changing a route, a schema or a topic)', async () => {
  const made = await renderApiDoc()
  const file = fs.readFileSync(API_DOC, 'utf8')
  assert.ok(made.includes('#### POST /api/v1/domains/{domain}/files') && made.includes('| `chat/D/U/send` | you → server |'), 'the generated document has the calls and the topics')
  assert.equal(file, made, 'docs/api.md is out of date: run `npm run docs`')
})

test('every link between the documents leads to a file and a heading that exist, inside the repository', () => {
  const broken: string[] = []
  for (const doc of DOCS) {
    for (const m of prose(read(doc)).matchAll(/!?\[[^\]]*\]\(([^)\s]+)\)/g)) {
      const target = m[1]!
      if (/^(https?|mailto):/.test(target)) continue
      const [file, hash] = target.split('#') as [string, string | undefined]
      const resolved = file === '' ? path.join(ROOT, doc) : path.resolve(path.dirname(path.join(ROOT, doc)), file)
      const rel = path.relative(ROOT, resolved)
      if (rel.startsWith('..') || path.isAbsolute(rel)) { broken.push(`${doc}: ${target} points outside the repository`); continue }
      if (!fs.existsSync(resolved)) {
        if (!SCREENSHOTS_TO_COME.has(rel)) broken.push(`${doc}: ${target}: no such file`)
        continue
      }
      if (hash !== undefined && rel.endsWith('.md') && !anchors(rel).has(hash)) broken.push(`${doc}: ${target}: no such heading in ${rel}`)
    }
  }
  assert.deepEqual(broken, [])
})

test('no document cites what the repository does not hold: the contract is docs/spec.md', () => {
  const outside: string[] = []
  for (const doc of DOCS) {
    if (doc === 'docs/spec.md') continue
    const lines = read(doc).split('\n')
    for (const [i, line] of lines.entries()) {
      // "§4.4" only as a link into the contract, which is here
      const bare = line.replace(/\[[^\]]*§[^\]]*\]\(spec\.md[^)]*\)/g, '').replace(/\[[^\]]*\]\((\.\.\/)?docs\/spec\.md[^)]*\)/g, '')
      if (/\bSPEC\b|§/.test(bare)) outside.push(`${doc}:${i + 1}: ${line.trim()}`)
      if (/\/work\/|file:\/\//.test(line)) outside.push(`${doc}:${i + 1}: ${line.trim()}`)
    }
  }
  assert.deepEqual(outside, [])
  assert.match(read('docs/spec.md'), /^### 4\.4 Delivery and disabling$/m, 'the contract is in the repository')
})

test('the README is a front door: at most 250 lines, with the two commands and links into docs/', () => {
  const readme = read('README.md')
  const lines = readme.split('\n').length
  assert.ok(lines <= 250, `the README has ${lines} lines`)
  assert.match(readme, /^npm ci && npm start$/m)
  assert.match(readme, /^npm ci && npm test$/m)
  for (const doc of ['api', 'callbacks', 'client', 'widget', 'operations']) assert.ok(readme.includes(`(docs/${doc}.md)`), `the README links docs/${doc}.md`)
})

test('the several-nodes example keeps clear of the ports of the quick start (8080, 1884) and of the demo (8081)', () => {
  const ops = read('docs/operations.md')
  const section = ops.slice(ops.indexOf('## Several nodes'), ops.indexOf('\n## ', ops.indexOf('## Several nodes') + 1))
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!).join('\n')
  const ports = [...blocks.matchAll(/(?:PORT=|localhost:|-p )(\d+)/g)].map((m) => Number(m[1]))
  assert.ok(ports.length >= 6, `the example names its ports (${ports.join(', ')})`)
  for (const p of [8080, 8081, 1883, 1884]) assert.ok(!ports.includes(p), `port ${p} is not used by the several-nodes example (${ports.join(', ')})`)
})

// ---- the PHP verifier of docs/callbacks.md, as a customer pastes it -----------------------

test("docs/callbacks.md's PHP receiver verifies mqchat's deliveries (204) and refuses a forged or replayed one (401)", async (t) => {
  const doc = read('docs/callbacks.md')
  const php = /PHP \(`messages-callback\.php`\):\n```php\n([\s\S]*?)```/.exec(doc)![1]!
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqchat-docs-php-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  // What it stores is the reader's own code ("… store $event …"); here it keeps the body.
  fs.writeFileSync(path.join(dir, 'messages-callback.php'), php.replace("// … store $event['from_userid'], $event['to_userid'], $event['message'] …", "file_put_contents(__DIR__ . '/got.jsonl', $body . \"\\n\", FILE_APPEND);"))

  const s = await startServer(t, {}, { MQCHAT_CALLBACK_ALLOW_PRIVATE: '1' })
  const d = await s.domain()
  const url = `http://127.0.0.1:${await freePort()}/messages-callback.php`
  const put = await s.api('PUT', `/api/v1/domains/${d.id}/callbacks/messages`, { url, enabled: true }, d.apiKey)
  assert.equal(put.status, 200, JSON.stringify(put.body))
  const secret = put.body.signingSecret as string
  const phpServer = spawn('php', ['-S', new URL(url).host, '-t', dir], { env: { ...process.env, MQCHAT_SIGNING_SECRET: secret }, stdio: ['ignore', 'ignore', 'pipe'] })
  let log = ''
  phpServer.stderr.on('data', (b) => { log += b })
  t.after(() => { phpServer.kill('SIGKILL') })
  await waitFor(() => log.includes('Development Server') || log.includes('started'), `php -S to start: ${log}`, 10_000)

  const tested = await s.api('POST', `/api/v1/domains/${d.id}/callbacks/messages/test`, undefined, d.apiKey)
  assert.deepEqual([tested.body.result, tested.body.responseStatus], ['ok', 204], JSON.stringify(tested.body))
  const sent = await s.api('POST', `/api/v1/domains/${d.id}/messages`, { from_userid: 2, to_userid: 3601, message: 'ok', type: 0 }, d.apiKey)
  const got = path.join(dir, 'got.jsonl')
  await waitFor(() => fs.existsSync(got) && fs.readFileSync(got, 'utf8').includes(JSON.stringify(sent.body)), 'the message event stored by the receiver', 10_000)

  // Signed with another secret, or signed right but 10 minutes old: 401.
  const body = JSON.stringify(sent.body)
  const sign = (key: Buffer, id: string, ts: number): string => `v1,${createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest('base64')}`
  const realKey = Buffer.from(secret.slice('whsec_'.length), 'base64')
  const now = Math.floor(Date.now() / 1000)
  for (const [what, key, ts] of [['another secret', Buffer.alloc(24, 7), now], ['an old timestamp', realKey, now - 600]] as const) {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'webhook-id': 'msg_forged', 'webhook-timestamp': String(ts), 'webhook-signature': sign(key, 'msg_forged', ts) }, body })
    assert.equal(res.status, 401, what)
  }
  const fresh = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'webhook-id': 'msg_ok', 'webhook-timestamp': String(now), 'webhook-signature': sign(realKey, 'msg_ok', now) }, body })
  assert.equal(fresh.status, 204, 'and takes one signed with the secret, now')
})
