// `npm run demo`: mqchat with a demo domain, and a tiny customer site on another origin with
// the widget's tag and its own token endpoint (examples/mqchat-token.mjs). It prints two links
// that sign in as two users: open each in its own window (one private) and chat.
// Ports: MQCHAT_HTTP_PORT (default 8080) and DEMO_SITE_PORT (default 8081); 0 picks free ones.
import fs from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import type { AddressInfo } from 'node:net'
import { startApp } from '../src/app.ts'
import { loadConfig } from '../src/config.ts'
import { createLogger } from '../src/log.ts'
// @ts-expect-error: a plain JavaScript example, as a customer would copy it
import { mqchatToken } from '../examples/mqchat-token.mjs'

const USERS = [{ id: 1, name: 'Ada Lovelace' }, { id: 2, name: 'Alan Turing' }, { id: 3, name: 'Grace Hopper' }]

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqchat-demo-'))
/** A demo that cannot start (a port taken: the quick start's server still running) says why in one line, and leaves no data dir. */
const fail = (err: unknown): never => {
  fs.rmSync(dataDir, { recursive: true, force: true })
  // A port taken is a SetupError naming the setting that moves it; its stack helps nobody.
  process.stderr.write(`mqchat demo: ${(err as Error).message}\n`)
  process.exit(1)
}
const config = loadConfig({
  MQCHAT_HTTP_PORT: process.env.MQCHAT_HTTP_PORT ?? '8080',
  MQCHAT_MQTT_PORT: process.env.MQCHAT_MQTT_PORT ?? '0',
  MQCHAT_HOST: process.env.MQCHAT_HOST ?? '127.0.0.1',
  MQCHAT_DATA_DIR: dataDir,
  MQCHAT_ADMIN_KEY: 'demo-operator-key-not-for-production',
  MQCHAT_LOG_LEVEL: process.env.MQCHAT_LOG_LEVEL ?? 'warn'
})
const app = await startApp(config, createLogger(config.logLevel)).catch(fail)
const server = `http://127.0.0.1:${app.httpPort}`

const api = async (method: string, p: string, body?: unknown, key = app.operatorKey): Promise<any> => {
  const res = await fetch(server + p, { method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) })
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${await res.text()}`)
  return await res.json()
}
const domain = await api('POST', '/api/v1/domains', { id: 'demo', name: 'Demo shop' })
for (const u of USERS) await api('PUT', `/api/v1/domains/demo/users/${u.id}`, { name: u.name }, domain.apiKey)
await api('POST', '/api/v1/domains/demo/messages', { from_userid: 3, to_userid: 1, message: 'Welcome to the demo! Open the other link in another window and say hello to Alan.', type: 0 }, domain.apiKey)

/** The widget's tag, with the settings the page's query asks for (?theme=dark&lang=ar…). */
const TAG_SETTINGS = ['theme', 'lang', 'color', 'position', 'title', 'greeting'] as const
const esc = (v: string): string => v.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;')
const tag = (query: URLSearchParams): string => {
  const attrs: Record<string, string> = { 'data-domain': 'demo', 'data-token-url': '/mqchat-token', 'data-service-worker': '/mqchat-sw.js', 'data-title': 'Demo shop', 'data-greeting': 'Hi! Ask us anything, we usually answer within minutes.' }
  for (const k of TAG_SETTINGS) { const v = query.get(k); if (v !== null) attrs[`data-${k}`] = v }
  return `<script src="${server}/widget.js"${Object.entries(attrs).map(([k, v]) => ` ${k}="${esc(v)}"`).join('')} async></script>`
}

const page = (user: typeof USERS[number] | undefined, query: URLSearchParams): string => `<!doctype html>
<html lang="${query.get('lang') === 'ar' ? 'ar' : 'en'}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover"><title>Demo shop — mqchat</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#222}code{background:#eee;padding:0 .2rem}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#eee;padding:.5rem}
${query.get('theme') === 'dark' ? 'html{background:#121417;color:#ddd}body{color:#ddd}code,pre{background:#2a2d33}' : ''}</style></head>
<body><main><h1>Demo shop</h1>
<p>${user === undefined ? 'Not signed in: open one of the links the demo printed.' : `Signed in as <strong>${user.name}</strong> (user ${user.id}).`}</p>
<p>This page is a customer's site on another origin than mqchat. The chat is the one tag below; its token comes from this site's own <code>/mqchat-token</code>, which knows who you are from a cookie.</p>
<pre><code>${esc(tag(new URLSearchParams()))}</code></pre>
<p>Try the tag's settings in this page's address: <code>?theme=dark</code>, <code>?lang=ar</code>, <code>?color=%23c2410c</code>, <code>?position=left</code>.</p>
</main>
${tag(query)}
</body></html>`

const site = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x')
  const uid = Number(/(?:^|;\s*)demo_user=(\d+)/.exec(req.headers.cookie ?? '')?.[1])
  if (url.pathname === '/mqchat-token') {
    // The site's session says who is signed in; the token is minted here (no call to mqchat).
    const user = USERS.find((u) => u.id === uid)
    if (user === undefined) { res.writeHead(401).end(); return }
    const token = mqchatToken({ domain: 'demo', userid: user.id, secret: domain.tokenSecret, profile: { name: user.name } })
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify({ token }))
    return
  }
  if (url.pathname === '/mqchat-sw.js') {
    // Web push (docs/push.md): the site's one-line service worker, which imports mqchat's.
    res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(`importScripts(${JSON.stringify(`${server}/sw.js`)})\n`)
    return
  }
  if (url.pathname === '/') {
    const as = USERS.find((u) => u.id === Number(url.searchParams.get('as')))
    const headers: Record<string, string> = { 'content-type': 'text/html; charset=utf-8' }
    // "Signing in" is a link here; a real site has its own sign-in.
    if (as !== undefined) headers['set-cookie'] = `demo_user=${as.id}; Path=/; HttpOnly; SameSite=Lax`
    res.writeHead(200, headers).end(page(as ?? USERS.find((u) => u.id === uid), url.searchParams))
    return
  }
  res.writeHead(404).end()
})
const sitePort = Number(process.env.DEMO_SITE_PORT ?? 8081)
await new Promise<void>((resolve, reject) => {
  site.once('error', reject)
  site.listen(sitePort, '127.0.0.1', resolve)
}).catch(async (err: NodeJS.ErrnoException) => {
  await app.stop()
  fail(err.code === 'EADDRINUSE' ? new Error(`port ${sitePort} on 127.0.0.1 is already in use; set DEMO_SITE_PORT to a free port`) : err)
})
const siteUrl = `http://localhost:${(site.address() as AddressInfo).port}`

process.stdout.write(`
mqchat demo is running (server ${server}, admin panel at ${server}/ with key ${app.operatorKey}).
Open these two links in two separate windows (one of them private, so each keeps its own cookie):

  ${USERS[0]!.name}: ${siteUrl}/?as=1
  ${USERS[1]!.name}: ${siteUrl}/?as=2

Press Ctrl+C to stop (the demo's data is thrown away).
`)

const stop = async (): Promise<void> => {
  site.closeAllConnections()
  site.close()
  await app.stop()
  fs.rmSync(dataDir, { recursive: true, force: true })
  process.exit(0)
}
process.on('SIGINT', () => { void stop() })
process.on('SIGTERM', () => { void stop() })
