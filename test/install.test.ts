// `npm ci` on the Node we promise installs without engine warnings (issue 11: cookie@2.0.2,
// pulled by fastify's light-my-request, asked for Node 22).
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { test } from 'node:test'
import { promisify } from 'node:util'

const ROOT = path.resolve(import.meta.dirname, '..')

test('npm ci on this Node warns of no unsupported engine (checked offline, as a dry run)', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqchat-install-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  for (const f of ['package.json', 'package-lock.json']) fs.copyFileSync(path.join(ROOT, f), path.join(dir, f))
  // The dry run reads the lock file and judges every package's engines against this Node;
  // it downloads and builds nothing.
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
  const { stdout, stderr } = await promisify(execFile)(npm, ['ci', '--dry-run', '--ignore-scripts', '--offline', '--no-audit', '--no-fund'], { cwd: dir })
  const out = stdout + stderr
  assert.doesNotMatch(out, /EBADENGINE/, out)
})

test('every locked package accepts the oldest Node that package.json promises', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'))
  const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8'))
  const oldest = /^>=(\d+(?:\.\d+){0,2})$/.exec(pkg.engines.node)?.[1]
  assert.ok(oldest !== undefined, `engines.node is ">=x.y.z": ${pkg.engines.node}`)
  const v = (s: string): number[] => [...s.split('.').map(Number), 0, 0].slice(0, 3)
  const atLeast = (a: number[], b: number[]): boolean => a[0]! !== b[0]! ? a[0]! > b[0]! : a[1]! !== b[1]! ? a[1]! > b[1]! : a[2]! >= b[2]!
  const refused: string[] = []
  for (const [name, p] of Object.entries(lock.packages as Record<string, { version?: string, engines?: { node?: string } }>)) {
    const range = p.engines?.node
    if (range === undefined) continue
    // The forms locked today: ">=x[.y[.z]]", optionally "|| >=…" alternatives or "^x.y.z".
    const ok = range.split('||').some((alt) => {
      const m = /^\s*(>=|\^)?\s*v?(\d+)(?:\.(\d+))?(?:\.(\d+))?\s*$/.exec(alt)
      if (m === null) return true // a form this check does not read: the dry run above judges it
      const want = [Number(m[2]), Number(m[3] ?? 0), Number(m[4] ?? 0)]
      return m[1] === '^' ? v(oldest)[0] === want[0] && atLeast(v(oldest), want) : atLeast(v(oldest), want)
    })
    if (!ok) refused.push(`${name}@${p.version} wants node ${range}`)
  }
  assert.deepEqual(refused, [], `package.json promises node >=${oldest}`)
})
