// `npm run demo` as a new user runs it (a real process), and the token endpoints of docs/client.md
// (examples/): what they mint is a token the server takes.
import assert from 'node:assert/strict'
import { spawn, execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, test } from 'node:test'
import mqtt from 'mqtt'
import { browserTest, closeBrowser } from './helpers/browser.ts'
import { startServer } from './helpers/server.ts'
import { waitFor } from './helpers/wait.ts'
// @ts-expect-error: a plain JavaScript example, as a customer would copy it
import { mqchatToken } from '../examples/mqchat-token.mjs'

after(() => closeBrowser())
const ROOT = path.join(import.meta.dirname, '..')

browserTest('npm run demo prints two links, and the two users chat through the widget', async (t, open) => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts'], {
    cwd: ROOT,
    env: { ...process.env, MQCHAT_HTTP_PORT: '0', DEMO_SITE_PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  child.stdout.on('data', (b) => { out += b })
  child.stderr.on('data', (b) => { out += b })
  t.after(() => new Promise<void>((resolve) => { if (child.exitCode !== null) resolve(); else { child.once('exit', () => resolve()); child.kill('SIGTERM') } }))
  const links = await waitFor(() => {
    const m = [...out.matchAll(/^\s+(.+): (http:\/\/localhost:\d+\/\?as=\d)$/gm)]
    return m.length === 2 ? m.map((x) => ({ name: x[1]!, url: x[2]! })) : null
  }, `two links, got: ${out}`, 30_000)
  assert.deepEqual(links.map((l) => l.name), ['Ada Lovelace', 'Alan Turing'])

  const server = /\(server (http:\/\/[^ ]+), admin panel/.exec(out)![1]!
  const { page: alan } = await open(links[1]!.url)
  // Alan is online (his window connected) before Ada looks for him.
  await waitFor(async () => {
    const r = await fetch(`${server}/api/v1/domains/demo/presence?status=online`, { headers: { authorization: 'Bearer demo-operator-key-not-for-production' } })
    return ((await r.json()) as { users: Array<{ userid: number }> }).users.some((u) => u.userid === 2)
  }, 'Alan online', 10_000)
  const { page: ada } = await open(links[0]!.url)
  for (const p of [ada, alan]) p.setDefaultTimeout(10_000)
  await ada.getByRole('button', { name: 'Chat', exact: true }).click()
  await ada.getByRole('list', { name: 'Contacts' }).getByText('Grace Hopper').waitFor()
  await ada.getByRole('list', { name: 'Contacts' }).getByRole('button', { name: /Alan Turing/ }).click()
  const region = ada.getByRole('region', { name: 'Alan Turing' })
  await region.getByLabel('Message', { exact: true }).fill('Hello Alan')
  await region.getByRole('button', { name: 'Send', exact: true }).click()
  await alan.getByRole('button', { name: 'Chat', exact: true }).click()
  await alan.getByRole('list', { name: 'Contacts' }).getByRole('button', { name: /Ada Lovelace/ }).click()
  await alan.getByRole('region', { name: 'Ada Lovelace' }).getByText('Hello Alan').waitFor()
})

test('the token endpoints of docs/client.md (examples/), in PHP and Node, mint tokens the server takes, with the profile name', async (t) => {
  const server = await startServer(t)
  const domain = await server.domain()
  const node = mqchatToken({ domain: domain.id, userid: 7, secret: domain.tokenSecret, profile: { name: 'Node User' } })

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqchat-php-token-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  // The site's session says user 8 is signed in (what its sign-in would have done).
  fs.writeFileSync(path.join(dir, 'signed-in.php'), '<?php session_start(); $_SESSION["user_id"] = 8; $_SESSION["display_name"] = "PHP User";')
  const answer = execFileSync('php', ['-d', `session.save_path=${dir}`, '-d', 'display_errors=stderr', '-d', `auto_prepend_file=${path.join(dir, 'signed-in.php')}`,
    path.join(ROOT, 'examples/mqchat-token.php')], { env: { ...process.env, MQCHAT_DOMAIN: domain.id, MQCHAT_TOKEN_SECRET: domain.tokenSecret }, stdio: ['ignore', 'pipe', 'ignore'] }).toString()
  const php = JSON.parse(answer).token as string

  for (const [userid, token, name] of [[7, node, 'Node User'], [8, php, 'PHP User']] as const) {
    const client = await mqtt.connectAsync(server.wsUrl, { username: `${domain.id}/${userid}`, password: token, reconnectPeriod: 0 })
    t.after(() => client.endAsync(true))
    const profile = await waitFor(async () => {
      const r = await server.api('GET', `/api/v1/domains/${domain.id}/users/${userid}`, undefined, domain.apiKey)
      return r.body.name === name ? r.body : null
    }, `${name}'s profile`)
    assert.equal(profile.status, 'online')
  }
})
