// The widget's size and speed (issue 12): the gzipped bytes a site's page loads before the
// first open (the loader, then the browser client that connects and counts unread) and at the
// first open (the interface), and, in a domain of 10,000 users, the time from a page load to
// the widget connected and from a click on the launcher to the contacts drawn, in this
// machine's chromium against a warm server. Aims: loader ≤ 5 KB, before open ≤ 60 KB,
// first open ≤ 120 KB, click to contacts < 500 ms.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import zlib from 'node:zlib'
import { build } from 'esbuild'
import mqtt, { type MqttClient } from 'mqtt'
import { chromium } from 'playwright-core'
import { bundleAll } from '../src/http/widget.ts'
import { pool } from './clients.ts'
import { fixed, int } from './measure.ts'
import { HOST } from './processes.ts'
import { MQCHAT_DOMAIN, startMqchat } from './targets.ts'

const USERS = 10_000
const ONLINE = 100
const CONVERSATIONS = 30
const RUNS = 7
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage']

const gz = (b: Uint8Array): number => zlib.gzipSync(b, { level: 9 }).length
const kb = (n: number): string => `${fixed(n / 1024, 1)} KB`

export async function widgetBench (): Promise<void> {
  const bundles = (await bundleAll()).files
  const size = (name: string): number => gz(bundles.get(name)!.body)
  const loader = size('widget.js')
  const client = size('client.js')
  const ui = size('widget-ui.js')
  // The client's MQTT part alone, and what mqtt.js would weigh in its place (the same esbuild settings).
  const alone = async (contents: string): Promise<number> => gz((await build({ stdin: { contents, resolveDir: process.cwd() }, bundle: true, minify: true, format: 'esm', platform: 'browser', target: 'es2020', write: false, logLevel: 'silent' })).outputFiles[0]!.contents)
  const ours = await alone("import { openLink } from './client/link.ts'; globalThis.m = openLink")
  const mqttJs = await alone("import mqtt from 'mqtt'; globalThis.m = mqtt.connect")
  console.log(`widget: loader /widget.js ${kb(loader)} gzipped (aim ≤ 5 KB)`)
  console.log(`widget: before the first open (loader + /client.js) ${kb(loader + client)} (aim ≤ 60 KB); of it MQTT ${kb(ours)} (mqtt.js in its place: ${kb(mqttJs)}, ${fixed(mqttJs / ours, 0)}×)`)
  console.log(`widget: all a first open loads (+ /widget-ui.js ${kb(ui)}) ${kb(loader + client + ui)} (aim ≤ 120 KB)`)

  const mq = await startMqchat()
  const clients: MqttClient[] = []
  let site: http.Server | null = null
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: FLAGS })
  try {
    const t0 = Date.now()
    await pool(Array.from({ length: USERS }, (_, i) => i + 1), 32, (id) => mq.api('PUT', `/domains/${MQCHAT_DOMAIN}/users/${id}`, { name: `User ${id}` }, 200))
    for (let i = 0; i < CONVERSATIONS; i++) {
      await mq.api('POST', `/domains/${MQCHAT_DOMAIN}/messages`, { from_userid: 1000 + i, to_userid: 1, message: `hello ${i}`, type: 0 }, 201)
    }
    await pool(Array.from({ length: ONLINE }, (_, i) => i + 2), 16, async (id) => {
      clients.push(await mqtt.connectAsync(`mqtt://${HOST}:${mq.mqttPort}`, { username: `${MQCHAT_DOMAIN}/${id}`, password: await mq.token(id), reconnectPeriod: 0 }))
    })
    console.log(`widget: domain of ${int(USERS)} users, ${ONLINE} online, user 1 with ${CONVERSATIONS} conversations, made in ${fixed((Date.now() - t0) / 1000, 1)} s`)

    const server = `http://${HOST}:${mq.httpPort}`
    const token = await mq.token(1)
    site = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>bench</title></head>
<body><p>A page.</p><script>window.__t = {}; document.addEventListener('mqchat:ready', () => { window.__t.ready = performance.now() })</script>
<script src="${server}/widget.js" data-domain="${MQCHAT_DOMAIN}" data-token="${token}" async></script></body></html>`)
    })
    await new Promise<void>((resolve) => site!.listen(0, HOST, resolve))
    const siteUrl = `http://localhost:${(site.address() as AddressInfo).port}/`

    const once = async (): Promise<{ ready: number, contacts: number }> => {
      const context = await browser.newContext()
      try {
        const page = await context.newPage()
        await page.goto(siteUrl)
        await page.waitForFunction('window.__t.ready !== undefined', undefined, { timeout: 15_000 })
        const ready = await page.evaluate('window.__t.ready') as number
        // From the click to the contact list drawn with its rows, timed inside the page.
        const contacts = await page.evaluate(`new Promise((resolve) => {
          const root = document.querySelector('[data-mqchat]').shadowRoot
          const start = performance.now()
          root.querySelector('.launcher').click()
          const check = () => {
            const list = root.querySelector('ul[aria-label="Contacts"]')
            if (list !== null && list.querySelectorAll('li button').length >= ${CONVERSATIONS}) resolve(performance.now() - start)
            else requestAnimationFrame(check)
          }
          check()
        })`) as number
        return { ready, contacts }
      } finally {
        await context.close()
      }
    }
    await once() // warms the server (bundles built, statements prepared)
    const runs: Array<{ ready: number, contacts: number }> = []
    for (let i = 0; i < RUNS; i++) runs.push(await once())
    const median = (xs: number[]): number => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
    console.log(`widget: page load to widget connected (mqchat:ready), median of ${RUNS} fresh pages: ${fixed(median(runs.map((r) => r.ready)), 0)} ms`)
    console.log(`widget: click on the launcher to the contacts drawn (first open, interface not cached), median: ${fixed(median(runs.map((r) => r.contacts)), 0)} ms (aim < 500 ms), worst ${fixed(Math.max(...runs.map((r) => r.contacts)), 0)} ms`)
  } finally {
    await browser.close()
    for (const c of clients) await c.endAsync(true).catch(() => {})
    site?.close()
    await mq.stop()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await widgetBench()
