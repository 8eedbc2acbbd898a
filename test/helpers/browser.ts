// A real browser: Debian's chromium driven by playwright-core (never a browser download).
// A test that fails leaves a screenshot in test-artifacts/ (not committed).
import fs from 'node:fs'
import path from 'node:path'
import { test, type TestContext } from 'node:test'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'

const ARTIFACTS = path.resolve(import.meta.dirname, '../../test-artifacts')
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking',
  '--no-first-run', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage']

let shared: Promise<Browser> | null = null

/** One browser per test file; closed when the process is done with it. */
export function browser (): Promise<Browser> {
  shared ??= chromium.launch({ executablePath: CHROMIUM, args: FLAGS })
  return shared
}

export async function closeBrowser (): Promise<void> {
  if (shared !== null) await (await shared).close()
  shared = null
}

export interface TestPage {
  page: Page
  /** uncaught errors and console errors seen in the page */
  errors: string[]
}

export type Open = (url: string, viewport?: { width: number, height: number }) => Promise<TestPage>

/**
 * A test with real browser pages: `open(url)` gives a fresh page (its own context, so its
 * own sessionStorage). When the test fails, each page it opened is kept as a screenshot.
 */
export function browserTest (name: string, fn: (t: TestContext, open: Open) => Promise<void>): void {
  test(name, async (t) => {
    const pages: Page[] = []
    const contexts: BrowserContext[] = []
    const open: Open = async (url, viewport = { width: 1280, height: 900 }) => {
      const context = await (await browser()).newContext({ viewport })
      contexts.push(context)
      const page = await context.newPage()
      pages.push(page)
      const errors: string[] = []
      page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`))
      // The URL tells a refused API call from a missing file (the text alone does not).
      page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()} [${m.location().url}]`) })
      await page.goto(url)
      return { page, errors }
    }
    try {
      await fn(t, open)
    } catch (err) {
      for (const [i, p] of pages.entries()) await screenshot(p, `${name}-${i}`)
      throw err
    } finally {
      // Before the test's own hooks stop its servers: no page is left reconnecting to them.
      await Promise.all(contexts.map((c) => c.close().catch(() => {})))
    }
  })
}

export async function screenshot (page: Page, name: string): Promise<void> {
  try {
    fs.mkdirSync(ARTIFACTS, { recursive: true })
    await page.screenshot({ path: path.join(ARTIFACTS, `${name.replace(/[^a-z0-9]+/gi, '-').slice(0, 80)}.png`), fullPage: true })
  } catch {}
}

/**
 * Flags for WebRTC between two pages of one headless chromium: Chromium's fake camera and
 * microphone (a test pattern and a beep), allowed without a prompt; peer connections over
 * loopback, with host candidates as addresses (not mDNS names, which nothing here resolves).
 */
export const MEDIA_FLAGS = ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
  '--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns']

/** A browser of the test's own with MEDIA_FLAGS; closed after the test. */
export async function mediaBrowser (t: TestContext): Promise<Browser> {
  const b = await chromium.launch({ executablePath: CHROMIUM, args: [...FLAGS, ...MEDIA_FLAGS] })
  t.after(() => b.close())
  return b
}
