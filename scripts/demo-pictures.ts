// What `npm run screenshots` and `npm run screenshots:calls` share: the demo (`npm run demo`,
// started on free ports), Debian's chromium, and a wait for what the demo prints.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import type { Browser, Page } from 'playwright-core'

export const ROOT = path.join(import.meta.dirname, '..')
export const OUT = path.join(ROOT, 'docs/images')
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
/** Chromium as the tests start it: nothing it does reaches beyond this machine. */
export const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage']
export const TIMEOUT_MS = 30_000

export async function until<T> (check: () => T | null | undefined, what: string): Promise<T> {
  const deadline = Date.now() + TIMEOUT_MS
  for (;;) {
    const v = check()
    if (v !== null && v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`screenshots: timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** The demo, running: what it has printed so far, and its stop. */
export function startDemo (): { out: () => string, stop: () => void } {
  const demo = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts'], {
    cwd: ROOT, env: { ...process.env, MQCHAT_HTTP_PORT: '0', DEMO_SITE_PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  demo.stdout.on('data', (b) => { out += b })
  demo.stderr.on('data', (b) => { out += b })
  return { out: () => out, stop: () => { demo.kill('SIGTERM') } }
}

/** A demo user's page of the site (`?as=<user>` and the tag's settings in `query`), in a context of its own. */
export async function pageAs (browser: Browser, site: string, user: number, query: string, viewport = { width: 1200, height: 900 }): Promise<Page> {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1 })
  const page = await context.newPage()
  page.setDefaultTimeout(TIMEOUT_MS)
  await page.goto(`${site}/?as=${user}${query}`)
  return page
}

/** The page as it is now, as docs/images/<name>.png. */
export async function save (page: Page, name: string): Promise<void> {
  fs.mkdirSync(OUT, { recursive: true })
  await page.screenshot({ path: path.join(OUT, `${name}.png`) })
  console.log(`screenshots: docs/images/${name}.png`)
}
