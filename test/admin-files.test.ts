// The admin panel's files (SPEC §5) as the server serves them: every file of admin/, with
// its content type and the panel's Content-Security-Policy, and every module an ES module
// imports is one of them (no build step: the browser loads them as they are).
import assert from 'node:assert/strict'
import fs from 'node:fs'
import { test } from 'node:test'
import { startServer } from './helpers/server.ts'

const ADMIN_DIR = new URL('../admin/', import.meta.url)
const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8'
}
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; media-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

test('every file of admin/ is served with its content type, the CSP and nosniff; each module it imports is served too', async (t) => {
  const s = await startServer(t)
  const names = fs.readdirSync(ADMIN_DIR).sort()
  assert.ok(names.filter((n) => n.endsWith('.js')).length >= 5, `the panel is split into modules: ${names.join(', ')}`)
  for (const name of names) {
    const res = await fetch(`${s.httpUrl}/admin/${name}`)
    const body = await res.text()
    assert.equal(res.status, 200, name)
    assert.equal(res.headers.get('content-type'), TYPES[name.slice(name.lastIndexOf('.') + 1)], name)
    assert.equal(res.headers.get('content-security-policy'), CSP, name)
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff', name)
    assert.equal(body, fs.readFileSync(new URL(name, ADMIN_DIR), 'utf8'), `${name} as it is on disk`)
    if (name.endsWith('.js')) {
      for (const [, spec] of body.matchAll(/^import .* from '([^']+)'$/gm)) {
        assert.match(spec!, /^\.\/[a-z-]+\.js$/, `${name} imports a sibling module by a relative path`)
        assert.ok(names.includes(spec!.slice(2)), `${name} imports ${spec}, which admin/ holds`)
      }
    }
  }
  const index = await fetch(`${s.httpUrl}/`)
  assert.equal(index.headers.get('content-type'), TYPES.html)
  assert.equal(index.headers.get('content-security-policy'), CSP)
  assert.match(await index.text(), /<script type="module" src="\/admin\/app\.js"><\/script>/)
  assert.equal((await fetch(`${s.httpUrl}/admin/nothing.js`)).status, 404)
})
