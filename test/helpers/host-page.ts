// A customer's site on another origin than mqchat (SPEC §9): a page with the widget's tag and
// the site's own token endpoint. Who is signed in is a cookie the site set (`?as=<userid>` on
// the first visit stands for a sign-in form); the endpoint mints the token for that user only.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { TestContext } from 'node:test'

export interface HostPage {
  /** the site's origin, e.g. http://localhost:40123 (mqchat is on 127.0.0.1: another origin) */
  origin: string
  /** the page, signed in as userid */
  url: (userid: number, tag?: Record<string, string>, lang?: string) => string
  /** how many tokens the endpoint has handed out, per user */
  tokensServed: Map<number, number>
}

export async function hostPage (t: TestContext, serverUrl: string, mint: (userid: number) => Promise<string>): Promise<HostPage> {
  const tokensServed = new Map<number, number>()
  const srv = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    const cookie = /(?:^|;\s*)uid=(\d+)/.exec(req.headers.cookie ?? '')
    if (url.pathname === '/mqchat-token') {
      if (cookie === null) { res.writeHead(401).end(); return }
      const uid = Number(cookie[1])
      tokensServed.set(uid, (tokensServed.get(uid) ?? 0) + 1)
      mint(uid).then((token) => {
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify({ token }))
      }, () => res.writeHead(500).end())
      return
    }
    if (url.pathname === '/') {
      const as = url.searchParams.get('as') ?? ''
      const tag = JSON.parse(url.searchParams.get('tag') ?? '{}') as Record<string, string>
      const attrs = Object.entries({ 'data-token-url': '/mqchat-token', ...tag }).map(([k, v]) => ` ${k}="${v.replace(/"/g, '&quot;')}"`).join('')
      const lang = url.searchParams.get('lang') ?? 'en'
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'set-cookie': `uid=${as}; Path=/; SameSite=Lax` })
      res.end(`<!doctype html><html lang="${lang}"><head><meta charset="utf-8"><title>A customer's site</title>
<style>button{background:red!important;font-size:40px!important} *{color:green!important}</style></head>
<body><main><h1>Welcome to the shop</h1><p>Some content.</p><div id="chat-here" style="height:500px"></div></main>
<script src="${serverUrl}/widget.js"${attrs} async></script></body></html>`)
      return
    }
    if (url.pathname === '/mqchat-sw.js') {
      // SPEC §10.1: the site's one-line service worker, which imports mqchat's (docs/push.md)
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(`importScripts(${JSON.stringify(`${serverUrl}/sw.js`)})\n`)
      return
    }
    if (url.pathname === '/blank') {
      // a page of the site without the widget: for a site that draws its own chat with /client.js
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><title>A customer\'s site</title>')
      return
    }
    res.writeHead(404).end()
  })
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise<void>((resolve) => { srv.closeAllConnections(); srv.close(() => resolve()) }))
  const origin = `http://localhost:${(srv.address() as AddressInfo).port}`
  return {
    origin,
    tokensServed,
    url: (userid, tag = {}, lang = 'en') => `${origin}/?as=${userid}&lang=${lang}&tag=${encodeURIComponent(JSON.stringify(tag))}`
  }
}
