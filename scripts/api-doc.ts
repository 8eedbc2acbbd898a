// docs/api.md, generated so that it cannot drift from the code:
// - the REST calls from the OpenAPI document a real server serves at /api/v1/openapi.json
//   (fastify builds it from the routes' own schemas), and who may make each call, asked of
//   that server with a user's token (a call not open to users refuses it before anything);
// - the MQTT topics from src/broker/topics.ts (which a user may publish or subscribe to) and
//   the payload schemas of src/chat/schemas.ts.
// The prose around them is scripts/api-doc.template.md. `npm run docs` writes the file;
// test/docs.test.ts fails when the one in the repository is not what this script makes.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { startApp } from '../src/app.ts'
import { canSubscribe, clientAction } from '../src/broker/topics.ts'
import { MqttCall, MqttHistory, MqttRead, MqttSend, MqttStatus, MqttTyping } from '../src/chat/schemas.ts'
import { loadConfig } from '../src/config.ts'
import { createLogger } from '../src/log.ts'

const ROOT = path.resolve(import.meta.dirname, '..')
export const API_DOC = path.join(ROOT, 'docs/api.md')
const TEMPLATE = path.join(import.meta.dirname, 'api-doc.template.md')

type Schema = Record<string, any>
interface Operation { method: string, path: string, op: Schema, user: boolean }

// ---- REST ------------------------------------------------------------------------------

const OPERATOR_KEY = 'api-doc-operator-key-0123456789'
const USER_REFUSED = "a user's token cannot make this call"

/** The OpenAPI document, and for each call whether a user's token may make it. */
async function fromServer (): Promise<{ doc: Schema, ops: Operation[] }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqchat-api-doc-'))
  const app = await startApp(loadConfig({
    MQCHAT_HTTP_PORT: '0', MQCHAT_MQTT_PORT: '0', MQCHAT_HOST: '127.0.0.1', MQCHAT_DATA_DIR: dir, MQCHAT_ADMIN_KEY: OPERATOR_KEY
  }, {}), createLogger('silent'))
  try {
    const base = `http://127.0.0.1:${app.httpPort}`
    const call = async (method: string, p: string, key: string, body?: unknown): Promise<{ status: number, body: any }> => {
      const res = await fetch(base + p, { method, headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) })
      const text = await res.text()
      return { status: res.status, body: text === '' ? null : JSON.parse(text) }
    }
    const doc = (await call('GET', '/api/v1/openapi.json', OPERATOR_KEY)).body
    const domain = (await call('POST', '/api/v1/domains', OPERATOR_KEY, { id: 'doc', name: 'Doc' })).body
    const { token } = (await call('POST', '/api/v1/domains/doc/users/1/token', domain.apiKey)).body
    const ops: Operation[] = []
    for (const [p, byMethod] of Object.entries<Schema>(doc.paths)) {
      for (const [method, op] of Object.entries<Schema>(byMethod)) {
        const concrete = p.replace('{domain}', 'doc').replace('{userid}', '1').replace('{peer}', '2').replace('{kind}', 'messages')
        // No body: a call open to users fails its validation (or answers), one that is not
        // is refused by the authentication before it.
        const r = await call(method.toUpperCase(), concrete, token)
        const refused = r.status === 403 && String(r.body?.error?.message).startsWith(USER_REFUSED)
        ops.push({ method: method.toUpperCase(), path: p, op, user: !refused })
      }
    }
    return { doc, ops }
  } finally {
    await app.stop()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

const cell = (s: string): string => specLinks(s).replaceAll('|', '\\|').replaceAll('\n', ' ')

/** The contract's sections by number, from docs/spec.md's headings: `4.4` → its anchor. */
const SPEC_SECTIONS = new Map([...fs.readFileSync(path.join(ROOT, 'docs/spec.md'), 'utf8').matchAll(/^#{2,3} (\d+(?:\.\d+)?)\.? (.+)$/gm)]
  .map((m) => [m[1]!, anchor(`${m[1]!}${m[1]!.includes('.') ? '' : '.'} ${m[2]!}`)]))

/** "SPEC §4.1, §4.2" in a description (the code's way to cite the contract) as links into docs/spec.md. */
function specLinks (s: string): string {
  return s.replace(/SPEC ((?:§[\d.]*\d(?:, | and )?)+)/g, (_all, refs: string) => refs.replace(/§([\d.]*\d)/g, (ref: string, n: string) => {
    const a = SPEC_SECTIONS.get(n)
    if (a === undefined) throw new Error(`a description cites SPEC §${n}, which docs/spec.md does not have`)
    return `[${ref}](spec.md#${a})`
  }))
}

/** One schema as a short type: `integer 1–500, default 50`, `"online" or "away"`, `string ≤ 200`. */
function typeOf (s: Schema): string {
  if (s.anyOf !== undefined || s.oneOf !== undefined) return (s.anyOf ?? s.oneOf).map(typeOf).join(' or ')
  if (s.enum !== undefined) return s.enum.map((v: unknown) => `\`${JSON.stringify(v)}\``).join(', ') + (s.nullable === true ? ', or null' : '')
  const parts: string[] = []
  if (s.type === 'array') {
    const item = typeOf(s.items ?? {})
    parts.push(`array of ${item.includes(' ') ? `(${item})` : item}`)
  }
  else parts.push(s.type ?? (s.const !== undefined ? `\`${JSON.stringify(s.const)}\`` : 'any'))
  if (s.minimum !== undefined && s.maximum !== undefined) parts.push(`${s.minimum}–${s.maximum}`)
  else if (s.minimum !== undefined) parts.push(`≥ ${s.minimum}`)
  else if (s.maximum !== undefined) parts.push(`≤ ${s.maximum}`)
  if (s.maxLength !== undefined) parts.push(`≤ ${s.maxLength} characters`)
  if (s.maxItems !== undefined) parts.push(`≤ ${s.maxItems} items`)
  if (s.pattern !== undefined) parts.push(`\`${s.pattern}\``)
  if (s.format !== undefined) parts.push(s.format)
  let out = parts.join(' ')
  if (s.default !== undefined) out += `, default ${JSON.stringify(s.default)}`
  if (s.nullable === true) out += ', or null'
  return out
}

/** The fields of an object schema, nested ones as `a.b` and array items as `a[].b`. */
function fields (s: Schema, prefix = '', depth = 0): Array<{ name: string, type: string, required: boolean, description: string }> {
  const rows: Array<{ name: string, type: string, required: boolean, description: string }> = []
  const props = s.properties as Record<string, Schema> | undefined
  if (props === undefined) return rows
  const required = new Set<string>(s.required ?? [])
  for (const [name, p] of Object.entries(props)) {
    const full = prefix + name
    const isObject = p.type === 'object' && p.properties !== undefined
    const isObjects = p.type === 'array' && p.items?.type === 'object' && p.items.properties !== undefined
    rows.push({ name: full, type: isObject ? `object${p.nullable === true ? ', or null' : ''}` : isObjects ? 'array of objects' : typeOf(p), required: required.has(name), description: p.description ?? '' })
    if (depth < 3 && isObject) rows.push(...fields(p, `${full}.`, depth + 1))
    if (depth < 3 && isObjects) rows.push(...fields(p.items, `${full}[].`, depth + 1))
  }
  return rows
}

function fieldTable (rows: ReturnType<typeof fields>, requiredColumn: boolean): string {
  if (rows.length === 0) return ''
  const head = requiredColumn ? '| field | type | required | meaning |\n|---|---|---|---|\n' : '| field | type | meaning |\n|---|---|---|\n'
  return head + rows.map((r) => requiredColumn
    ? `| \`${r.name}\` | ${cell(r.type)} | ${r.required ? 'yes' : ''} | ${cell(r.description)} |`
    : `| \`${r.name}\` | ${cell(r.type)} | ${cell(r.description)} |`).join('\n') + '\n'
}

const TAG_TITLES: Record<string, string> = { domains: 'Domains', users: 'Users, profiles and presence', messages: 'Messages', callbacks: 'Callbacks', files: 'Files', push: 'Web push' }

function renderRest (ops: Operation[]): string {
  const tags: string[] = []
  for (const o of ops) for (const t of o.op.tags ?? ['other']) if (!tags.includes(t)) tags.push(t)
  const out: string[] = []
  out.push('| call | who | what |\n|---|---|---|')
  for (const o of ops) out.push(`| [\`${o.method} ${o.path.replace('/api/v1', '')}\`](#${anchor(`${o.method} ${o.path}`)}) | ${who(o)} | ${cell(o.op.summary ?? '')} |`)
  out.push('')
  for (const tag of tags) {
    out.push(`### ${TAG_TITLES[tag] ?? tag}\n`)
    for (const o of ops.filter((x) => (x.op.tags ?? ['other'])[0] === tag)) {
      out.push(`#### ${o.method} ${o.path}\n`)
      out.push(specLinks(`${o.op.summary ?? ''}. ${o.op.description ?? ''}`.replace(/\.\. /, '. ').replace(/\. $/, '.').replace(/\.\.$/, '.').trim()) + '\n')
      out.push(`Who: ${who(o)}.\n`)
      const params = (o.op.parameters ?? []) as Schema[]
      const pathParams = params.filter((p) => p.in === 'path')
      const query = params.filter((p) => p.in === 'query')
      if (pathParams.length > 0) out.push('Path: ' + pathParams.map((p) => `\`${p.name}\` (${typeOf(p.schema)}${p.description !== undefined ? `: ${p.description}` : ''})`).join('; ') + '.\n')
      if (query.length > 0) {
        out.push('| query | type | meaning |\n|---|---|---|')
        for (const p of query) out.push(`| \`${p.name}\` | ${cell(typeOf(p.schema))} | ${cell(p.description ?? '')} |`)
        out.push('')
      }
      const body = o.op.requestBody?.content?.['application/json']?.schema as Schema | undefined
      if (body !== undefined) {
        out.push(`Body (JSON${o.op.requestBody.required === true ? '' : ', optional'}):\n`)
        out.push(fieldTable(fields(body), true))
      }
      const statuses = Object.keys(o.op.responses ?? {})
      const ok = statuses.find((s) => s.startsWith('2'))
      const answer = ok === undefined ? undefined : o.op.responses[ok]?.content?.['application/json']?.schema as Schema | undefined
      if (ok !== undefined) {
        const rows = answer === undefined ? [] : fields(answer)
        out.push(`Answer: ${ok}${rows.length === 0 ? ', no body' : ''}.\n`)
        if (rows.length > 0) out.push(fieldTable(rows, false))
      }
      const errors = statuses.filter((s) => !s.startsWith('2'))
      if (errors.length > 0) out.push(`Errors: ${errors.join(', ')}.\n`)
    }
  }
  return out.join('\n').replace(/\n{3,}/g, '\n\n').trim()
}

function who (o: Operation): string {
  if (/\(operator\)/.test(o.op.summary ?? '')) return 'operator'
  // `security: []`: a public call (the web push key)
  if (Array.isArray(o.op.security) && o.op.security.length === 0) return 'anyone, no key'
  return o.user ? 'domain, *user*' : 'domain'
}

/** GitHub's heading anchor. */
export function anchor (heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-')
}

// ---- MQTT ------------------------------------------------------------------------------

interface TopicRow { leaf: string, direction: 'client' | 'server', payload: string, schema?: Schema }

/** What the server sends (hand-written: these bodies are the contract's fixed events) and what a user sends (from its schema). */
const TOPICS: TopicRow[] = [
  { leaf: 'presence', direction: 'server', payload: 'the presence event `{"userid":1,"status":"online","timestamp":1602511574}`, retained: one user\'s topic gives its status, `offline` included; the wildcard `chat/D/+/presence` gives the users who are not offline' },
  { leaf: 'status', direction: 'client', payload: '`{"status":"away"}`', schema: MqttStatus },
  { leaf: 'send', direction: 'client', payload: '`{"to_userid":3601,"message":"ok","type":0,"p1":"","p2":"","p3":"","cid":"your id"}`', schema: MqttSend },
  { leaf: 'history', direction: 'client', payload: '`{"peer":3601,"before":ID,"limit":50,"cid":"…"}` (newest first) or `{"after":ID,"limit":500,"cid":"…"}` (oldest first: catch-up after a reconnect)', schema: MqttHistory },
  { leaf: 'inbox', direction: 'server', payload: 'the message event, for each message to U: `{"from_userid":2,"message":{"id":138946,"message":"ok","p1":"","p2":"","p3":"","timestamp":1602511586,"type":0},"to_userid":3601}`' },
  { leaf: 'ack', direction: 'server', payload: '`{"cid","event"}` (a send), `{"cid","messages"}` (history) or `{"cid","error":{"code","message"}}`' },
  { leaf: 'typing', direction: 'client', payload: '`{"to_userid":3601}` while U types (again every few seconds)', schema: MqttTyping },
  { leaf: 'read', direction: 'client', payload: '`{"peer":3601,"up_to":ID}`: U has read 3601\'s messages up to that id', schema: MqttRead },
  { leaf: 'call', direction: 'client', payload: 'a call\'s signal, relayed to the peer: `{"to_userid":3601,"call":"c-uuid","kind":"offer","sdp":"…","video":true,"cid":"…"}`; `kind` `offer`, `answer` (with `sdp`), `ice` (with `candidate`), `hangup` or `decline`; answered on `ack` only when refused ([Calls](calls.md))', schema: MqttCall },
  { leaf: 'signal', direction: 'server', payload: '`{"kind":"typing","from_userid":2}` (let it lapse after 5 s without another), `{"kind":"read","userid":3601,"peer":2,"up_to":ID,"timestamp":…}` (userid has read peer\'s messages up to that id) or `{"kind":"call","from_userid":2,"call":"c-uuid","type":"offer","sdp":"…","video":true}` (a call\'s signal: the sender\'s `kind` is `type` here)' }
]

/** Checks the table against the broker's rules, so a topic added there cannot go undocumented. */
function checkTopics (): void {
  const me = { domainId: 'd', userid: 1 }
  const source = fs.readFileSync(path.join(ROOT, 'src/broker/topics.ts'), 'utf8')
  const listed = /const CLIENT_ACTIONS = new Set<string>\(\[([^\]]*)\]\)/.exec(source)
  if (listed === null) throw new Error('src/broker/topics.ts: CLIENT_ACTIONS not found; update scripts/api-doc.ts')
  const actions = [...listed[1]!.matchAll(/'([a-z]+)'/g)].map((m) => m[1]!)
  for (const a of actions) {
    if (clientAction(`chat/d/1/${a}`, me) !== a) throw new Error(`topics.ts: "${a}" is listed but not allowed`)
    const row = TOPICS.find((t) => t.leaf === a)
    if (row === undefined || row.direction !== 'client' || row.schema === undefined) throw new Error(`a user may publish to chat/D/U/${a}: document it in scripts/api-doc.ts`)
  }
  for (const t of TOPICS) {
    const topic = `chat/d/1/${t.leaf}`
    if (t.direction === 'client' && !actions.includes(t.leaf)) throw new Error(`chat/D/U/${t.leaf} is documented as a user's publish, but the broker does not take it`)
    if (t.direction === 'server' && (!canSubscribe(topic, me) || clientAction(topic, me) !== null)) throw new Error(`chat/D/U/${t.leaf} is documented as the server's, but a user ${canSubscribe(topic, me) ? 'may publish to it' : 'may not subscribe to it'}`)
    if (t.direction === 'client' && canSubscribe(topic, me)) throw new Error(`chat/D/U/${t.leaf}: a user may subscribe to it`)
  }
  if (!canSubscribe('chat/d/+/presence', me) || canSubscribe('chat/d/2/inbox', me) || canSubscribe('chat/other/1/inbox', me)) throw new Error('the subscription rules the document states no longer hold')
}

function renderMqtt (): string {
  checkTopics()
  const out: string[] = []
  out.push('| topic | direction | payload |\n|---|---|---|')
  for (const t of TOPICS) out.push(`| \`chat/D/U/${t.leaf}\` | ${t.direction === 'client' ? 'you → server' : t.leaf === 'presence' ? 'server → anyone in D' : 'server → you'} | ${cell(t.payload)} |`)
  out.push('')
  for (const t of TOPICS.filter((x) => x.schema !== undefined)) {
    out.push(`#### chat/D/U/${t.leaf}\n`)
    out.push(fieldTable(fields(t.schema!), true))
  }
  return out.join('\n').trim()
}

// ---- the document ----------------------------------------------------------------------

export async function renderApiDoc (): Promise<string> {
  const { ops } = await fromServer()
  const template = fs.readFileSync(TEMPLATE, 'utf8')
  if (!template.includes('{{rest}}') || !template.includes('{{mqtt}}')) throw new Error('api-doc.template.md needs {{rest}} and {{mqtt}}')
  const header = '<!-- Generated by scripts/api-doc.ts from the OpenAPI document, src/broker/topics.ts and src/chat/schemas.ts,\n     with the prose of scripts/api-doc.template.md. Do not edit: run `npm run docs`. -->\n'
  return header + template.replace('{{rest}}', () => renderRest(ops)).replace('{{mqtt}}', () => renderMqtt())
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const text = await renderApiDoc()
  if (process.argv.includes('--check')) {
    const now = fs.existsSync(API_DOC) ? fs.readFileSync(API_DOC, 'utf8') : ''
    if (now !== text) {
      process.stderr.write('docs/api.md is not what scripts/api-doc.ts makes: run `npm run docs`\n')
      process.exit(1)
    }
  } else {
    fs.mkdirSync(path.dirname(API_DOC), { recursive: true })
    fs.writeFileSync(API_DOC, text)
    process.stdout.write(`wrote ${path.relative(process.cwd(), API_DOC)}\n`)
  }
}
