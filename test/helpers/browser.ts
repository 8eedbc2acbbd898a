// A real browser: Debian's chromium driven by playwright-core (never a browser download).
// A test that fails leaves a screenshot in test-artifacts/ (not committed).
import fs from 'node:fs'
import path from 'node:path'
import type { TestContext } from 'node:test'
import { chromium, type Browser, type Page } from 'playwright-core'

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

/** A fresh page (its own context: own sessionStorage); screenshot kept if the test fails. */
export async function openPage (t: TestContext, url: string, viewport = { width: 1280, height: 900 }): Promise<TestPage> {
  const context = await (await browser()).newContext({ viewport })
  const page = await context.newPage()
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`))
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`) })
  t.after(async () => {
    if (t.passed === false || (t as { error?: unknown }).error !== undefined) await screenshot(page, t.name)
    await context.close()
  })
  await page.goto(url)
  return { page, errors }
}

export async function screenshot (page: Page, name: string): Promise<void> {
  try {
    fs.mkdirSync(ARTIFACTS, { recursive: true })
    await page.screenshot({ path: path.join(ARTIFACTS, `${name.replace(/[^a-z0-9]+/gi, '-').slice(0, 80)}.png`), fullPage: true })
  } catch {}
}
