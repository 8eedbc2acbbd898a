// `npm run demo` while its ports are taken (the quick start's server still running on 8080,
// something on 8081): one line saying which port and which setting moves it, exit code 1,
// and no data dir left behind in the temporary folder.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { test, type TestContext } from 'node:test'
import { spawnNode } from './helpers/child.ts'
import { tempDir } from './helpers/process.ts'

/** A port held by a listener on every address, as `npm start` holds 8080. */
async function heldPort (t: TestContext): Promise<number> {
  const s = net.createServer()
  await new Promise<void>((resolve) => s.listen(0, '0.0.0.0', resolve))
  t.after(() => new Promise<void>((resolve) => s.close(() => resolve())))
  return (s.address() as net.AddressInfo).port
}

for (const [what, setting] of [['its HTTP port (the quick start\'s server)', 'MQCHAT_HTTP_PORT'], ['its site\'s port', 'DEMO_SITE_PORT']] as const) {
  test(`npm run demo with ${what} taken says so in one line, exits 1 and leaves no data dir`, async (t) => {
    const port = await heldPort(t)
    const tmp = tempDir(t)
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: tmp, MQCHAT_HTTP_PORT: '0', DEMO_SITE_PORT: '0', [setting]: String(port) }
    const child = spawnNode('scripts/demo.ts', { env })
    assert.equal(await child.exited, 1)
    const lines = child.stderr().trim().split('\n')
    assert.equal(lines.length, 1, `one line, not a stack:\n${child.stderr()}`)
    assert.match(lines[0]!, new RegExp(`^mqchat demo: .*port ${port} .*already in use; set ${setting} to a free port$`))
    assert.equal(child.stdout(), '', 'no links printed')
    assert.deepEqual(fs.readdirSync(tmp).filter((f) => f.startsWith('mqchat-demo-')), [], `no data dir left in ${path.basename(tmp)}`)
  })
}
