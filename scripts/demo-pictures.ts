// What `npm run screenshots` and `npm run screenshots:calls` share: the demo (`npm run demo`,
// started on free ports), Debian's chromium, and a wait for what the demo prints.
import { spawn } from 'node:child_process'
import path from 'node:path'

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
