// The widget as a site owner and a visitor see it (issue 18): one view at a time in the panel,
// the layout checked by geometry (never pixels), a phone's screen, the tag's settings, and the
// bugs found by looking at screenshots, each with the test that caught it.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import path from 'node:path'
import zlib from 'node:zlib'
import { createRequire } from 'node:module'
import { after, test, type TestContext } from 'node:test'
import type { Locator, Page, Route } from 'playwright-core'
import { browserTest, closeBrowser, type Open } from './helpers/browser.ts'
import { hostPage, type HostPage } from './helpers/host-page.ts'
import { m4a, png } from './helpers/media.ts'
import { expectStatus } from './helpers/rest.ts'
import { startServer, type TestServer } from './helpers/server.ts'
import { waitFor } from './helpers/wait.ts'
import { bundleAll } from '../src/http/widget.ts'

after(() => closeBrowser())

type Domain = { id: string, apiKey: string, tokenSecret: string }
type Box = { x: number, y: number, width: number, height: number }

/** A domain with Ada (2), Bob (3) and Cy (4), and a site that signs them in. */
async function setUp (t: TestContext): Promise<{ server: TestServer, domain: Domain, site: HostPage }> {
  const server = await startServer(t)
  const domain = await server.domain()
  for (const [id, name] of [[2, 'Ada'], [3, 'Bob'], [4, 'Cy']] as const) {
    await expectStatus('profile', server.api('PUT', `/api/v1/domains/${domain.id}/users/${id}`, { name }, domain.apiKey), 200)
  }
  const site = await hostPage(t, server.httpUrl, (uid) => server.token(domain, uid))
  return { server, domain, site }
}

const write = (server: TestServer, domain: Domain, from: number, to: number, message: string, type = 0): Promise<any> =>
  expectStatus('send', server.api('POST', `/api/v1/domains/${domain.id}/messages`, { from_userid: from, to_userid: to, message, type }, domain.apiKey), 201)

async function openAs (open: Open, site: HostPage, domain: Domain, userid: number, opts: { tag?: Record<string, string>, viewport?: { width: number, height: number }, lang?: string } = {}): Promise<Page> {
  const { page } = await open('about:blank', opts.viewport)
  page.setDefaultTimeout(20_000)
  await page.addInitScript(`window.__events = []
    for (const name of ['mqchat:ready', 'mqchat:unread']) document.addEventListener(name, (e) => window.__events.push({ name, detail: e.detail }))`)
  await page.goto(site.url(userid, { 'data-domain': domain.id, ...opts.tag }, opts.lang))
  await waitFor(() => page.evaluate('window.__events.some((e) => e.name === "mqchat:ready")'), 'mqchat:ready', 20_000)
  return page
}

const unreadTotal = async (page: Page): Promise<number> =>
  await page.evaluate('window.__events.filter((e) => e.name === "mqchat:unread").at(-1)?.detail.total ?? 0') as number
const launcher = (page: Page): Locator => page.getByRole('button', { name: 'Chat', exact: true })
const contacts = (page: Page): Locator => page.getByRole('list', { name: 'Contacts' })
const conversation = (page: Page, peer: string): Locator => page.getByRole('region', { name: peer, exact: true })
const box = async (l: Locator): Promise<Box> => { const b = await l.boundingBox(); assert.ok(b !== null, 'on screen'); return b }

async function openConversation (page: Page, peer: string): Promise<Locator> {
  await launcher(page).click()
  await contacts(page).getByRole('button', { name: new RegExp(peer) }).click()
  const region = conversation(page, peer)
  await region.waitFor()
  return region
}

/** How far the message list is from its bottom, in pixels. */
const fromBottom = (log: Locator): Promise<number> => log.evaluate((el: any) => el.scrollHeight - el.scrollTop - el.clientHeight)

/** Uploads a file as the domain (SPEC §8) and answers its URL. */
async function upload (server: TestServer, domain: Domain, bytes: Buffer, type: string): Promise<string> {
  const r = await fetch(`${server.httpUrl}/api/v1/domains/${domain.id}/files`, { method: 'POST', headers: { authorization: `Bearer ${domain.apiKey}`, 'content-type': type }, body: bytes })
  assert.equal(r.status, 201)
  return ((await r.json()) as { url: string }).url
}

/** A WAV of `seconds` of a quiet tone: what a test page is given for a voice record. */
function wav (seconds: number): Buffer {
  const rate = 8000
  const n = rate * seconds
  const b = Buffer.alloc(44 + n * 2)
  b.write('RIFF', 0); b.writeUInt32LE(36 + n * 2, 4); b.write('WAVEfmt ', 8); b.writeUInt32LE(16, 16); b.writeUInt16LE(1, 20); b.writeUInt16LE(1, 22)
  b.writeUInt32LE(rate, 24); b.writeUInt32LE(rate * 2, 28); b.writeUInt16LE(2, 32); b.writeUInt16LE(16, 34); b.write('data', 36); b.writeUInt32LE(n * 2, 40)
  for (let i = 0; i < n; i++) b.writeInt16LE(Math.round(Math.sin(i / 8) * 2000), 44 + i * 2)
  return b
}

// --- bugs found on screenshots (each failed before its fix) ---

browserTest('with a conversation open, the contact list is off the screen', async (t, open) => {
  const { server, domain, site } = await setUp(t)
  await write(server, domain, 3, 2, 'Hello from Bob')
  const ada = await openAs(open, site, domain, 2)
  const region = await openConversation(ada, 'Bob')
  await region.getByText('Hello from Bob').waitFor()
  // (its container had `hidden`, which the container's own display:flex overrode)
  assert.equal(await ada.locator('[data-mqchat] ul.contacts').isVisible(), false, 'the contact list is hidden')
})

browserTest('a picture that loads after it is drawn keeps the conversation at its bottom', async (t, open) => {
  const { server, domain, site } = await setUp(t)
  for (let i = 1; i <= 30; i++) await write(server, domain, 3, 2, `line ${i}`)
  const ada = await openAs(open, site, domain, 2)
  const region = await openConversation(ada, 'Bob')
  const log = region.getByRole('list', { name: 'Bob' })
  await region.getByText('line 30', { exact: true }).waitFor()
  await waitFor(async () => await fromBottom(log) < 2, 'at the bottom')
  // The picture's bytes are held until it is on screen: it loads after it is drawn.
  let held!: () => void
  const release = new Promise<void>((resolve) => { held = resolve })
  const bytes = await png(600, 400)
  await ada.route(/\/files\//, async (route: Route) => { await release; await route.fulfill({ contentType: 'image/png', body: bytes }) })
  await write(server, domain, 3, 2, await upload(server, domain, bytes, 'image/png'), 2)
  const picture = region.getByRole('img', { name: 'Picture' })
  await picture.waitFor({ state: 'attached' })
  held()
  await waitFor(() => picture.evaluate((img: any) => img.complete && img.naturalWidth > 0), 'the picture loaded')
  await waitFor(async () => await fromBottom(log) < 2, 'still at the bottom once the picture has loaded', 3000)
    .catch(async (e) => { throw new Error(`${e.message}: ${await fromBottom(log)} px above it`) })
  // and the next message shows too
  await write(server, domain, 3, 2, 'after the picture')
  await region.getByText('after the picture').waitFor()
  await waitFor(async () => await fromBottom(log) < 2, 'at the bottom after the next message', 3000)
})

browserTest('the unread count of a contact whose conversation is open and read is gone', async (t, open) => {
  const { server, domain, site } = await setUp(t)
  await write(server, domain, 3, 2, 'Hello from Bob')
  const ada = await openAs(open, site, domain, 2)
  await launcher(ada).click()
  const counts = ada.locator('[data-mqchat] ul.contacts li .count')
  await contacts(ada).getByRole('listitem').filter({ hasText: 'Bob' }).locator('.count').waitFor()
  await contacts(ada).getByRole('button', { name: /Bob/ }).click()
  const region = conversation(ada, 'Bob')
  await region.getByText('Hello from Bob').waitFor()
  await waitFor(async () => await unreadTotal(ada) === 0, 'read: mqchat:unread 0', 20_000)
  // The list behind the conversation, and the list on return, count nothing for Bob.
  await waitFor(async () => await counts.count() === 0, 'no count left in the list', 3000)
  await region.getByRole('button', { name: 'Back to contacts' }).click()
  await contacts(ada).getByRole('button', { name: /Bob/ }).waitFor()
  assert.equal(await counts.count(), 0)
})

browserTest('someone who comes online shows in the open contact list at once', async (t, open) => {
  const { server, domain, site } = await setUp(t)
  await write(server, domain, 3, 2, 'Hello from Bob')
  const ada = await openAs(open, site, domain, 2)
  await launcher(ada).click()
  const row = (name: string): Locator => contacts(ada).getByRole('listitem').filter({ hasText: name })
  await row('Bob').getByText('offline').waitFor()
  // Bob (a conversation) and Cy (nobody Ada has talked to) connect: well before the next
  // refresh of who is online (15 s), the list shows them.
  await server.connect(domain, 3)
  await row('Bob').getByText('online').waitFor({ timeout: 5000 })
  await server.connect(domain, 4)
  await row('Cy').getByText('online').waitFor({ timeout: 5000 })
})

browserTest('on a phone, Send stays on one line beside a wide message field', async (t, open) => {
  const { domain, site } = await setUp(t)
  const ada = await openAs(open, site, domain, 2, { viewport: { width: 375, height: 700 } })
  await ada.evaluate('window.mqchat.open(3)')
  const region = conversation(ada, 'Bob')
  const send = region.getByRole('button', { name: 'Send', exact: true })
  await send.waitFor()
  const lines = await send.evaluate((b: any) => { const r = b.ownerDocument.createRange(); r.selectNodeContents(b.querySelector('span') ?? b); return new Set([...r.getClientRects()].map((x: any) => Math.round(x.top))).size })
  assert.equal(lines, 1, 'Send on one line')
  const field = await box(region.getByLabel('Message', { exact: true }))
  const composer = await box(region.locator('form'))
  assert.ok(field.width >= composer.width * 0.55, `the message field takes most of the composer (${field.width} of ${composer.width})`)
})

const ROOT = path.join(import.meta.dirname, '..')

browserTest('the demo page fits a phone: a viewport meta, nothing wider than the screen', async (t, open) => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts'], {
    cwd: ROOT, env: { ...process.env, MQCHAT_HTTP_PORT: '0', DEMO_SITE_PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  child.stdout.on('data', (b) => { out += b })
  child.stderr.on('data', (b) => { out += b })
  t.after(() => new Promise<void>((resolve) => { if (child.exitCode !== null) resolve(); else { child.once('exit', () => resolve()); child.kill('SIGTERM') } }))
  const link = await waitFor(() => /Ada Lovelace: (http:\/\/\S+)/.exec(out)?.[1], `the demo's links, got: ${out}`, 30_000)
  const { page } = await open(link, { width: 375, height: 700 })
  page.setDefaultTimeout(20_000)
  assert.match(await page.locator('meta[name="viewport"]').getAttribute('content') ?? '', /width=device-width/)
  await launcher(page).waitFor()
  assert.ok(await page.evaluate('document.documentElement.scrollWidth') as number <= 375, 'no horizontal scroll')
  const l = await box(launcher(page))
  assert.ok(l.x + l.width <= 375, 'the launcher is on screen')
})

// --- one view at a time ---

browserTest('a conversation fills the panel: its header, the messages grouped under their day, the composer', async (t, open) => {
  const { server, domain, site } = await setUp(t)
  for (const [from, text] of [[3, 'Hello from Bob'], [3, 'Are you there?'], [2, 'Yes, hi!']] as const) await write(server, domain, from, from === 3 ? 2 : 3, text)
  await server.connect(domain, 3)
  const ada = await openAs(open, site, domain, 2, { viewport: { width: 1200, height: 900 } })
  await launcher(ada).click()
  // The contact row: name, the last message (Ada's own) and its time.
  const row = contacts(ada).getByRole('listitem').filter({ hasText: 'Bob' })
  await row.getByText('You: Yes, hi!').waitFor()
  assert.match(await row.locator('.when').innerText(), /\d{1,2}:\d{2}/)
  await contacts(ada).getByRole('button', { name: /Bob/ }).click()
  const region = conversation(ada, 'Bob')
  await region.getByText('Yes, hi!').waitFor()
  const whole = await box(ada.locator('[data-mqchat] .panel'))
  assert.equal(await ada.locator('[data-mqchat] ul.contacts').isVisible(), false, 'no contact list beside the conversation')
  const log = await box(region.getByRole('list', { name: 'Bob' }))
  assert.ok(log.height >= whole.height * 0.6, `the messages take most of the panel (${log.height} of ${whole.height} px)`)
  const region0 = await box(region)
  assert.ok(region0.height >= whole.height - 2, 'the conversation fills the panel')
  // The header: back, the peer's avatar, name and presence.
  const head = region.locator('.head')
  await head.getByRole('button', { name: 'Back to contacts' }).waitFor()
  await head.getByText('Bob', { exact: true }).waitFor()
  await head.getByText('online', { exact: true }).waitFor()
  assert.equal(await head.locator('.avatar').count(), 1)
  // One day separator above the three, Bob's two as one group.
  const items = await region.locator('ol > li').evaluateAll((els) => els.map((e: any) => e.className))
  assert.deepEqual(items.map((c) => c.split(' ').filter((x: string) => ['day', 'msg', 'mine', 'cont'].includes(x)).join('.')), ['day', 'msg', 'msg.cont', 'msg.mine'])
  assert.equal(await region.locator('li.day').innerText(), 'Today')
})

browserTest('a picture shows as a thumbnail that opens larger; a voice record as a player with its length', async (t, open) => {
  const { server, domain, site } = await setUp(t)
  await write(server, domain, 3, 2, await upload(server, domain, await png(900, 600), 'image/png'), 2)
  await write(server, domain, 3, 2, await upload(server, domain, m4a(2000), 'audio/mp4'), 3)
  const ada = await openAs(open, site, domain, 2, { viewport: { width: 1200, height: 900 } })
  // (the record's bytes, to the page, are a real 2 s sound it can play)
  const sound = wav(2)
  await ada.route(/\/files\/.+[^l]$/, async (route: Route) => {
    const r = await route.fetch()
    if ((r.headers()['content-type'] ?? '').startsWith('audio/')) await route.fulfill({ contentType: 'audio/wav', body: sound })
    else await route.fulfill({ response: r })
  })
  const region = await openConversation(ada, 'Bob')
  const thumb = region.getByRole('img', { name: 'Picture' })
  await waitFor(() => thumb.evaluate((img: any) => img.complete && img.naturalWidth > 0), 'the thumbnail loaded')
  assert.match(await thumb.getAttribute('src') ?? '', /\/thumbnail$/)
  const small = await box(thumb)
  await thumb.click()
  const viewer = ada.getByRole('dialog', { name: 'Picture' })
  const large = viewer.getByRole('img', { name: 'Picture' })
  await waitFor(() => large.evaluate((img: any) => img.complete && img.naturalWidth > 0), 'the picture loaded')
  assert.ok((await box(large)).width > small.width * 1.3, 'larger')
  await ada.keyboard.press('Escape')
  await viewer.waitFor({ state: 'detached' })
  assert.equal(await region.isVisible(), true, 'Escape closes the picture, not the panel')

  const voice = region.getByRole('group', { name: 'Voice message' })
  await voice.getByRole('button', { name: 'Play voice message' }).waitFor()
  await voice.getByText('0:02').waitFor()
})

// --- icons ---

browserTest('the composer\'s icons are inline SVG, labelled by their buttons; no emoji outside the emoji picker', async (t, open) => {
  const { server, domain, site } = await setUp(t)
  await write(server, domain, 3, 2, '', 5)
  const ada = await openAs(open, site, domain, 2)
  const region = await openConversation(ada, 'Bob')
  await region.getByText('Call').waitFor()
  const buttons = await region.locator('form button').evaluateAll((els) => els.map((b: any) => ({
    name: b.getAttribute('aria-label') ?? b.textContent.trim(),
    svg: b.querySelector('svg') !== null && b.querySelector('svg').getAttribute('aria-hidden') === 'true',
    colour: b.querySelector('svg')?.getAttribute('stroke'),
    text: b.textContent.trim()
  })))
  assert.deepEqual(buttons.map((b) => b.name), ['Emoji', 'Stickers', 'Attach', 'Take a picture', 'Record a voice message', 'Send'])
  for (const b of buttons) {
    assert.ok(b.svg, `${b.name}: an SVG icon, hidden from screen readers (the button has the name)`)
    assert.equal(b.colour, 'currentColor', `${b.name}: drawn in the button's colour`)
    assert.ok(b.text === '' || b.text === 'Send', `${b.name}: no glyph as text (${b.text})`)
  }
  const emoji = /\p{Extended_Pictographic}/u
  const shown = await ada.locator('[data-mqchat] .panel').evaluate((el: any) => el.textContent)
  assert.doesNotMatch(shown, emoji, 'no emoji in the panel')
  // The emoji picker is where emoji are (or text smileys, on a system that cannot draw them).
  await region.getByRole('button', { name: 'Emoji' }).click()
  const picks = await region.getByRole('group', { name: 'Emoji' }).getByRole('button').allInnerTexts()
  assert.ok(picks.length >= 10)
  assert.ok(picks.every((p) => emoji.test(p)) || picks.every((p) => /^[\x20-\x7e]+$/.test(p)), `all emoji or all text smileys: ${picks.join(' ')}`)
})

// --- a phone ---

browserTest('on a 375 × 700 phone the open panel fills the screen, and the launcher comes back on close', async (t, open) => {
  const { server, domain, site } = await setUp(t)
  await write(server, domain, 3, 2, 'Hello from Bob')
  const ada = await openAs(open, site, domain, 2, { viewport: { width: 375, height: 700 } })
  await launcher(ada).click()
  await contacts(ada).getByRole('button', { name: /Bob/ }).waitFor()
  const fills = async (what: string): Promise<void> => {
    const p = await box(ada.locator('[data-mqchat] .panel'))
    assert.ok(p.x <= 0.5 && p.y <= 0.5 && p.width >= 374.5 && p.height >= 699.5, `${what}: the panel fills the screen (${JSON.stringify(p)})`)
  }
  await fills('the contact list')
  assert.equal(await launcher(ada).isVisible(), false, 'the launcher is not over the panel')
  await contacts(ada).getByRole('button', { name: /Bob/ }).click()
  const region = conversation(ada, 'Bob')
  await region.getByText('Hello from Bob').waitFor()
  await fills('a conversation')
  const log = await box(region.getByRole('list', { name: 'Bob' }))
  assert.ok(log.height >= 700 * 0.6, `the messages take most of the screen (${log.height} px)`)
  const composer = await box(region.locator('form'))
  assert.ok(composer.y + composer.height <= 700 + 0.5, 'the composer is on screen')
  // The safe areas (a notch, a home bar) are kept clear by the panel's frame.
  assert.match(await ada.locator('[data-mqchat]').evaluate((host: any) => [...host.shadowRoot.styleSheets].flatMap((s: any) => [...s.cssRules].map((r: any) => r.cssText)).join('\n')), /safe-area-inset-bottom/)
  await region.getByRole('button', { name: 'Close' }).click()
  await launcher(ada).waitFor()
  assert.ok((await box(launcher(ada))).x + (await box(launcher(ada))).width <= 375)
})

// --- the tag's settings ---

const style = (l: Locator, prop: string): Promise<string> => l.evaluate((el: any, p: string) => (globalThis as any).getComputedStyle(el)[p], prop)
/** 0 (black) to 255 (white): how light a computed rgb() colour is */
const lightness = (rgb: string): number => { const [r, g, b] = rgb.match(/\d+/g)!.map(Number); return 0.299 * r! + 0.587 * g! + 0.114 * b! }

browserTest('the tag\'s settings take effect: colour, side, title, greeting, theme; and the CSS custom properties', async (t, open) => {
  const { server, domain, site } = await setUp(t)
  await write(server, domain, 3, 2, 'Hello from Bob')
  const ada = await openAs(open, site, domain, 2, {
    viewport: { width: 1200, height: 800 },
    tag: { 'data-color': '#c2410c', 'data-position': 'left', 'data-title': 'Help desk', 'data-greeting': 'Hi! We answer within minutes.', 'data-theme': 'dark' }
  })
  const chat = launcher(ada)
  assert.equal(await style(chat, 'backgroundColor'), 'rgb(194, 65, 12)', 'data-color on the launcher')
  assert.equal(await style(chat, 'color'), 'rgb(255, 255, 255)', 'white on a dark colour')
  const l = await box(chat)
  assert.ok(l.x < 100, `data-position=left: the launcher on the left (x=${l.x})`)
  assert.ok(await chat.locator('svg').count() === 1, 'the launcher has its icon')
  await chat.click()
  const dialog = ada.getByRole('dialog', { name: 'Help desk' })
  await dialog.getByRole('heading', { name: 'Help desk' }).waitFor()
  await dialog.getByText('Hi! We answer within minutes.').waitFor()
  const p = await box(dialog)
  assert.ok(p.x < 100, 'the panel opens on the left too')
  assert.ok(lightness(await style(ada.locator('[data-mqchat] .panel'), 'backgroundColor')) < 60, 'data-theme=dark on a light system')
  assert.equal(await style(ada.locator('[data-mqchat] .head.main'), 'backgroundColor'), 'rgb(194, 65, 12)', 'the header in the accent')
  await contacts(ada).getByRole('button', { name: /Bob/ }).click()
  const send = conversation(ada, 'Bob').getByRole('button', { name: 'Send', exact: true })
  assert.equal(await style(send, 'backgroundColor'), 'rgb(194, 65, 12)')

  // A light colour gets dark text; data-theme=light holds on a dark system; auto follows it.
  const light = await openAs(open, site, domain, 3, { tag: { 'data-color': '#facc15', 'data-theme': 'light' } })
  await light.emulateMedia({ colorScheme: 'dark' })
  assert.equal(await style(launcher(light), 'color'), 'rgb(17, 17, 17)', 'dark text on a light colour')
  await launcher(light).click()
  await contacts(light).waitFor()
  assert.ok(lightness(await style(light.locator('[data-mqchat] .panel'), 'backgroundColor')) > 200, 'data-theme=light on a dark system')
  const auto = await openAs(open, site, domain, 4)
  await auto.emulateMedia({ colorScheme: 'dark' })
  await launcher(auto).click()
  await contacts(auto).waitFor()
  assert.ok(lightness(await style(auto.locator('[data-mqchat] .panel'), 'backgroundColor')) < 60, 'auto (the default) follows a dark system')
  await auto.emulateMedia({ colorScheme: 'light' })
  assert.ok(lightness(await style(auto.locator('[data-mqchat] .panel'), 'backgroundColor')) > 200, 'and a light one')

  // The site's CSS: custom properties on the widget's element reach into its shadow root.
  await auto.addStyleTag({ content: '[data-mqchat]{--mqchat-accent:#0f766e;--mqchat-offset-y:120px;--mqchat-offset-x:40px;--mqchat-radius:4px;--mqchat-font:Georgia,serif}' })
  const a = await box(launcher(auto))
  assert.equal(Math.round(900 - (a.y + a.height)), 120, '--mqchat-offset-y: the launcher clear of the page\'s own corner')
  assert.equal(Math.round(1280 - (a.x + a.width)), 40, '--mqchat-offset-x')
  assert.equal(await style(launcher(auto), 'backgroundColor'), 'rgb(15, 118, 110)', '--mqchat-accent')
  assert.equal(await style(auto.locator('[data-mqchat] .panel'), 'borderTopLeftRadius'), '4px', '--mqchat-radius')
  assert.match(await style(auto.locator('[data-mqchat] .panel'), 'fontFamily'), /Georgia/, '--mqchat-font')
})

test('the loader stays under 5 KB gzipped, and all a first open loads under 60 KB', async () => {
  const files = (await bundleAll()).files
  const gz = (name: string): number => zlib.gzipSync(files.get(name)!.body, { level: 9 }).length
  const loader = gz('widget.js')
  const first = loader + gz('client.js') + gz('widget-ui.js')
  assert.ok(loader <= 5 * 1024, `widget.js ${loader} B gzipped`)
  assert.ok(first <= 60 * 1024, `widget.js + client.js + widget-ui.js ${first} B gzipped`)
})

// --- accessibility in each theme and layout ---

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js')
async function axe (page: Page, when: string): Promise<void> {
  await page.addScriptTag({ path: AXE })
  const found = await page.evaluate(`axe.run({ include: [['[data-mqchat]']] }, { resultTypes: ['violations'] }).then((r) =>
    r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => v.id + ' (' + v.impact + '): ' + v.nodes.map((n) => n.target.join(' ') + ' ' + (n.failureSummary ?? '')).join(', ')))`)
  assert.deepEqual(found, [], `no serious or critical violation: ${when}`)
}

browserTest('axe-core finds no serious or critical violation in the dark theme, in Arabic, on a phone, with a picture open', async (t, open) => {
  const { server, domain, site } = await setUp(t)
  await write(server, domain, 2, 3, 'Hi Bob')
  await write(server, domain, 3, 2, 'Hello from Bob')
  await write(server, domain, 3, 2, await upload(server, domain, await png(300, 200), 'image/png'), 2)
  await write(server, domain, 3, 2, await upload(server, domain, m4a(2000), 'audio/mp4'), 3)
  await write(server, domain, 3, 2, `${server.httpUrl}/stickers/heart.svg`, 1)
  await write(server, domain, 3, 2, '', 5)
  for (const [what, opts] of [
    ['dark, a conversation', { tag: { 'data-theme': 'dark' } }],
    ['light with a site colour, a conversation', { tag: { 'data-color': '#facc15', 'data-theme': 'light' } }],
    ['a phone, a conversation', { viewport: { width: 375, height: 700 } }]
  ] as const) {
    const page = await openAs(open, site, domain, 2, opts)
    const region = await openConversation(page, 'Bob')
    await region.getByText('Call').waitFor()
    await waitFor(() => region.getByRole('img', { name: 'Picture' }).evaluate((img: any) => img.complete && img.naturalWidth > 0), 'the thumbnail')
    await axe(page, what)
    await region.getByRole('img', { name: 'Picture' }).click()
    await page.getByRole('dialog', { name: 'Picture' }).waitFor()
    await axe(page, `${what}, the picture open`)
    await page.context().close()
  }
  const ar = await openAs(open, site, domain, 2, { lang: 'ar', tag: { 'data-theme': 'dark', 'data-greeting': 'مرحبًا' } })
  await ar.getByRole('button', { name: 'دردشة' }).click()
  await ar.getByRole('list', { name: 'جهات الاتصال' }).getByRole('button', { name: /Bob/ }).waitFor()
  await axe(ar, 'Arabic, dark, the contact list')
})
