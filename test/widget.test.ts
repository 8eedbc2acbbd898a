// The widget (SPEC §9) as visitors use it: a customer's page on another origin than mqchat,
// with the one tag, in Debian's chromium; two browser contexts are two signed-in visitors.
// Found by the fixed names of §9: the launcher `Chat`, the list `Contacts`, the region named
// after the peer, the field `Message`, the button `Send`, the accessible text `Read`.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, test, type TestContext } from 'node:test'
import { createRequire } from 'node:module'
import { chromium, type Browser, type Locator, type Page, type Route } from 'playwright-core'
import { browserTest, closeBrowser, type Open } from './helpers/browser.ts'
import { hostPage, type HostPage } from './helpers/host-page.ts'
import { expectStatus } from './helpers/rest.ts'
import { startServer, type TestServer } from './helpers/server.ts'
import { TcpProxy } from './helpers/tcp-proxy.ts'
import { waitFor } from './helpers/wait.ts'
import { bundleAll } from '../src/http/widget.ts'
import { freePort } from './helpers/ports.ts'

after(() => closeBrowser())

type Domain = { id: string, apiKey: string, tokenSecret: string }
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js')

/**
 * A domain with two named users, Ada (2) and Bob (3), and a site that signs them in. `via`: the
 * address the site's tag loads the widget from (a TcpProxy in front of the server, say).
 */
async function setUp (t: TestContext, server: TestServer, opts: { ttlSeconds?: number, via?: string } = {}): Promise<{ domain: Domain, site: HostPage }> {
  const domain = await server.domain()
  for (const [id, name] of [[2, 'Ada'], [3, 'Bob']] as const) {
    await expectStatus('profile', server.api('PUT', `/api/v1/domains/${domain.id}/users/${id}`, { name }, domain.apiKey), 200)
  }
  const site = await hostPage(t, opts.via ?? server.httpUrl, (uid) => server.token(domain, uid, opts.ttlSeconds ?? 3600))
  return { domain, site }
}

/** As setUp, with the widget reaching the server through a TCP proxy that can take the page offline. */
async function setUpThroughProxy (t: TestContext, server: TestServer): Promise<{ domain: Domain, site: HostPage, proxy: TcpProxy }> {
  const proxy = await new TcpProxy('127.0.0.1', server.app.httpPort).start(t)
  return { ...await setUp(t, server, { via: `http://127.0.0.1:${proxy.port}` }), proxy }
}

/** Bob's site sends Ada a message (REST, SPEC §2): she gets it live if her page is online. */
const bobWrites = (server: TestServer, domain: Domain, text: string): Promise<unknown> =>
  expectStatus('send', server.api('POST', `/api/v1/domains/${domain.id}/messages`, { from_userid: 3, to_userid: 2, message: text, type: 0 }, domain.apiKey), 201)

/** Records the widget's document events (mqchat:ready, :message, :unread) from the start. */
async function openAs (open: Open, site: HostPage, domain: Domain, userid: number, opts: { lang?: string, tag?: Record<string, string> } = {}): Promise<Page> {
  const { page } = await open('about:blank')
  // generous: in CI the browser shares two cores with the other suites (clusters, servers)
  page.setDefaultTimeout(20_000)
  // (Page code is a string here and below: the tests are type-checked without the DOM's types.)
  await page.addInitScript(`window.__events = []
    for (const name of ['mqchat:ready', 'mqchat:message', 'mqchat:unread']) {
      document.addEventListener(name, (e) => window.__events.push({ name, detail: e.detail }))
    }`)
  await page.goto(site.url(userid, { 'data-domain': domain.id, ...opts.tag }, opts.lang))
  await waitFor(() => page.evaluate('window.__events.some((e) => e.name === "mqchat:ready")'), 'mqchat:ready', 10_000)
  return page
}

const events = (page: Page, name: string): Promise<any[]> =>
  page.evaluate(`window.__events.filter((e) => e.name === ${JSON.stringify(name)}).map((e) => e.detail)`)

const launcher = (page: Page): Locator => page.getByRole('button', { name: 'Chat', exact: true })
const contacts = (page: Page): Locator => page.getByRole('list', { name: 'Contacts' })
const conversation = (page: Page, peer: string): Locator => page.getByRole('region', { name: peer, exact: true })

async function openConversation (page: Page, peer: string): Promise<Locator> {
  if (await conversation(page, peer).count() === 0) {
    // The panel draws its list a moment after the click: a second click would close it.
    if (await launcher(page).count() > 0 && await launcher(page).getAttribute('aria-expanded') !== 'true') await launcher(page).click()
    await contacts(page).or(conversation(page, peer)).first().waitFor()
    if (await conversation(page, peer).count() === 0) await contacts(page).getByRole('button', { name: new RegExp(peer) }).click()
  }
  const region = conversation(page, peer)
  await region.waitFor()
  return region
}

async function send (region: Locator, text: string): Promise<void> {
  await region.getByLabel('Message', { exact: true }).fill(text)
  await region.getByRole('button', { name: 'Send', exact: true }).click()
}

/** The texts of the messages in a conversation, in order. */
const texts = (region: Locator): Promise<string[]> =>
  region.getByRole('list').locator('li.msg').evaluateAll((els) => els.map((e: any) => {
    const clone = e.cloneNode(true)
    for (const x of clone.querySelectorAll('.sr, .meta')) x.remove()
    return clone.textContent ?? ''
  }))

browserTest('two visitors chat through the widget on a site of another origin: contacts, presence, unread, typing, read ticks', async (t, open) => {
  const server = await startServer(t)
  const { domain, site } = await setUp(t, server)
  await expectStatus('send', server.api('POST', `/api/v1/domains/${domain.id}/messages`, { from_userid: 3, to_userid: 2, message: 'Hello from Bob', type: 0 }, domain.apiKey), 201)

  const ada = await openAs(open, site, domain, 2)
  // Connected on page load: the unread count shows on the launcher before any open.
  await waitFor(async () => (await events(ada, 'mqchat:unread')).some((d) => d.total === 1), 'mqchat:unread total 1', 20_000)
  assert.match(await launcher(ada).getAttribute('aria-describedby').then((id) => ada.locator(`[data-mqchat] #${id}`).innerText()), /1 unread message/)
  assert.equal(await launcher(ada).locator('.badge').innerText(), '1')
  // The site's styles stop at the shadow root.
  assert.notEqual(await launcher(ada).evaluate((b) => (globalThis as any).getComputedStyle(b).backgroundColor), 'rgb(255, 0, 0)')

  const bob = await openAs(open, site, domain, 3)
  await launcher(ada).click()
  const bobRow = contacts(ada).getByRole('listitem').filter({ hasText: 'Bob' })
  await bobRow.getByText('online').waitFor()
  assert.equal(await bobRow.locator('.count').innerText().then((s) => s.trim().split('\n')[0]), '1')

  const withBob = await openConversation(ada, 'Bob')
  await withBob.getByText('Hello from Bob').waitFor()
  // Read on screen: the count drops to 0, on the launcher and in the event.
  await waitFor(async () => (await events(ada, 'mqchat:unread')).at(-1)?.total === 0, 'mqchat:unread total 0', 20_000)

  // Bob sees Ada online, and his message to her marked Read.
  const withAda = await openConversation(bob, 'Ada')
  await withAda.locator('li.msg.mine').filter({ hasText: 'Hello from Bob' }).getByText('Read', { exact: true }).waitFor()

  // Typing shows on the other side.
  await withBob.getByLabel('Message', { exact: true }).pressSequentially('Hi B')
  await withAda.getByText('Ada is typing…').waitFor()

  await withBob.getByLabel('Message', { exact: true }).fill('')
  await send(withBob, 'Hi Bob, how are you?')
  await withAda.getByText('Hi Bob, how are you?').waitFor()
  // Ada's message: sent, then Read once Bob has it on screen.
  await withBob.locator('li.msg.mine').filter({ hasText: 'Hi Bob, how are you?' }).getByText('Read', { exact: true }).waitFor()
  const got = await events(bob, 'mqchat:message')
  assert.ok(got.some((m) => m.message.message === 'Hi Bob, how are you?' && m.from_userid === 2 && m.to_userid === 3), 'mqchat:message carries the message event')

  // A message with HTML in it is shown as the text it is.
  const html = '<img src=x onerror="document.title=\'pwned\'"><b>bold</b>'
  await send(withAda, html)
  await withBob.getByText(html, { exact: true }).waitFor()
  assert.equal(await withBob.locator('li.msg img, li.msg b').count(), 0)
  assert.notEqual(await ada.title(), 'pwned')

  // Bob closes his panel; Ada writes: his badge counts it, then clears when he reads.
  await bob.keyboard.press('Escape')
  await send(withBob, 'Are you there?')
  await waitFor(async () => (await events(bob, 'mqchat:unread')).at(-1)?.total === 1, 'Bob unread 1', 20_000)
  assert.equal(await launcher(bob).locator('.badge').innerText(), '1')
  await launcher(bob).click()
  await conversation(bob, 'Ada').getByText('Are you there?').waitFor()
  await waitFor(async () => (await events(bob, 'mqchat:unread')).at(-1)?.total === 0, 'Bob unread 0', 20_000)

  // Bob leaves: Ada's contact list shows him offline.
  await bob.context().close()
  await withBob.getByRole('button', { name: 'Back to contacts' }).click()
  await contacts(ada).getByRole('listitem').filter({ hasText: 'Bob' }).getByText('offline').waitFor()
})

browserTest('a server restart mid-conversation loses nothing, doubles nothing, and the message written offline is sent once', async (t, open) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqchat-widget-restart-'))
  t.after(() => fs.rmSync(dataDir, { recursive: true, force: true }))
  const env = { MQCHAT_DATA_DIR: dataDir, MQCHAT_HTTP_PORT: String(await freePort()) }
  const first = await startServer(t, {}, env)
  const { domain, site } = await setUp(t, first)
  const ada = await openAs(open, site, domain, 2)
  const bob = await openAs(open, site, domain, 3)
  const withBob = await openConversation(ada, 'Bob')
  const withAda = await openConversation(bob, 'Ada')
  await send(withBob, 'before the restart')
  await withAda.getByText('before the restart').waitFor()

  await first.stop()
  await ada.getByRole('status').getByText(/You are offline/).waitFor()
  await send(withBob, 'written while offline')
  await withBob.locator('li.msg.mine[data-state="sending"]').getByText('written while offline').waitFor()

  const second = await startServer(t, {}, env)
  // Sent while the widgets are still coming back: they get it live or by catch-up, once.
  await expectStatus('send', second.api('POST', `/api/v1/domains/${domain.id}/messages`, { from_userid: 3, to_userid: 2, message: 'sent during the reconnect', type: 0 }, domain.apiKey), 201)
  await withAda.getByText('written while offline').waitFor({ timeout: 20_000 })
  await withBob.getByText('sent during the reconnect').waitFor({ timeout: 20_000 })
  await withBob.locator('li.msg.mine').filter({ hasText: 'written while offline' }).getByText(/^(Sent|Read)$/).waitFor()
  await ada.getByRole('status').getByText(/You are offline/).waitFor({ state: 'detached' }).catch(() => {})
  assert.equal(await ada.getByRole('status').filter({ hasText: 'offline' }).count(), 0, 'the offline banner is gone')

  // Whatever the order of reconnects and catch-ups, each message shows once on each side.
  await send(withAda, 'after the restart')
  await withBob.getByText('after the restart').waitFor()
  const want = ['before the restart', 'written while offline', 'sent during the reconnect', 'after the restart']
  assert.deepEqual((await texts(withBob)).filter((x) => want.includes(x)).sort(), [...want].sort(), 'Ada has each once')
  // Bob's site sent one on his behalf (REST): inbox topics carry messages *to* a user, so his
  // open page learns of it only if a catch-up covers it, and then once.
  const bobSees = (await texts(withAda)).filter((x) => want.includes(x))
  assert.deepEqual(bobSees.filter((x) => x !== 'sent during the reconnect').sort(), want.filter((x) => x !== 'sent during the reconnect').sort(), 'Bob has each of his widget\'s once')
  assert.ok(bobSees.filter((x) => x === 'sent during the reconnect').length <= 1)
  const stored = await expectStatus('history', second.api('GET', `/api/v1/domains/${domain.id}/messages?userid=2&peer=3&limit=50`, undefined, domain.apiKey), 200)
  assert.equal(stored.messages.filter((m: any) => m.message.message === 'written while offline').length, 1, 'stored once')
})

browserTest('the unread count stays true across reconnects: a message is counted once, and an older answer wipes out none', async (t, open) => {
  const server = await startServer(t)
  const { domain, site, proxy } = await setUpThroughProxy(t, server)
  const ada = await openAs(open, site, domain, 2)
  // The panel open on the contact list: the interface asks for the conversations on each return.
  await launcher(ada).click()
  await contacts(ada).getByText(/Nobody to chat with yet/).waitFor()
  const total = async (): Promise<number> => (await events(ada, 'mqchat:unread')).at(-1)?.total ?? 0
  const got = async (text: string): Promise<boolean> => (await events(ada, 'mqchat:message')).some((m) => m.message.message === text)
  const offline = async (): Promise<void> => {
    proxy.cut()
    await ada.getByRole('status').getByText(/You are offline/).waitFor()
  }
  const shown = async (n: number): Promise<void> => {
    assert.equal(await total(), n, 'mqchat:unread total')
    assert.equal(await launcher(ada).locator('.badge').innerText(), String(n), 'the launcher badge')
    const bobRow = contacts(ada).getByRole('listitem').filter({ hasText: 'Bob' })
    assert.equal(await bobRow.locator('.count').innerText().then((s) => s.trim().split('\n')[0]), String(n), 'Bob\'s count in the contact list')
  }

  // Three messages while Ada's page is offline. On its return, the server's answer (which counts
  // all three) comes before the catch-up that brings them: they are not counted a second time.
  await offline()
  for (const text of ['first while away', 'second while away', 'third while away']) await bobWrites(server, domain, text)
  proxy.hold((chunk, direction) => direction === 'down' && chunk.includes('first while away'))
  proxy.restore()
  await waitFor(() => proxy.holds, 'the catch-up answer held back', 20_000)
  await waitFor(async () => await total() === 3, 'the count of the server\'s answer', 20_000)
  proxy.release()
  await waitFor(() => got('second while away'), 'the catch-up reported', 20_000)
  // every one of them, the newest too (which the server's answer already showed as the last)
  assert.ok(await got('first while away') && await got('third while away'), 'mqchat:message for each message that came while away')
  await shown(3)

  // Offline and back again: the server's answer is read before Bob writes once more, and reaches
  // the page after his message has come live. It does not wipe that message out.
  let asked!: () => void
  const wasAsked = new Promise<void>((resolve) => { asked = resolve })
  let answer!: () => void
  const mayAnswer = new Promise<void>((resolve) => { answer = resolve })
  await ada.route(/\/conversations\?limit=100$/, async (route) => {
    const response = await route.fetch()
    asked()
    await mayAnswer
    await route.fulfill({ response })
  })
  await offline()
  proxy.restore()
  await wasAsked
  await bobWrites(server, domain, 'live while the answer is on its way')
  await waitFor(() => got('live while the answer is on its way'), 'the live message reported', 20_000)
  // (The contact list asks who is online once it has applied the answer.)
  const applied = ada.waitForRequest(/\/users\?status=online/)
  answer()
  await applied
  await ada.unroute(/\/conversations\?limit=100$/)
  await shown(4)

  // Read on screen: each message once, and nothing left unread.
  const withBob = await openConversation(ada, 'Bob')
  await withBob.getByText('live while the answer is on its way').waitFor()
  assert.deepEqual(await texts(withBob), ['first while away', 'second while away', 'third while away', 'live while the answer is on its way'])
  await waitFor(async () => await total() === 0, 'mqchat:unread total 0', 20_000)
})

browserTest('a message written offline is still there, Sending, when its conversation is opened again, and is sent once on return', async (t, open) => {
  const server = await startServer(t)
  const { domain, site, proxy } = await setUpThroughProxy(t, server)
  await bobWrites(server, domain, 'Hello from Bob')
  const ada = await openAs(open, site, domain, 2)
  let withBob = await openConversation(ada, 'Bob')
  await withBob.getByText('Hello from Bob').waitFor()

  proxy.cut()
  await ada.getByRole('status').getByText(/You are offline/).waitFor()
  await send(withBob, 'written while offline')
  const mine = (region: Locator): Locator => region.locator('li.msg.mine').filter({ hasText: 'written while offline' })
  await mine(withBob).getByText('Sending', { exact: true }).waitFor()
  // Back to the contacts and into the conversation again, still offline: the message is there.
  await withBob.getByRole('button', { name: 'Back to contacts' }).click()
  withBob = await openConversation(ada, 'Bob')
  await mine(withBob).getByText('Sending', { exact: true }).waitFor()

  // On return it is sent, once, and the conversation's history comes too.
  proxy.restore()
  await mine(withBob).getByText(/^(Sent|Read)$/).waitFor()
  await withBob.getByText('Hello from Bob').waitFor()
  assert.deepEqual(await texts(withBob), ['Hello from Bob', 'written while offline'])
  const stored = await expectStatus('history', server.api('GET', `/api/v1/domains/${domain.id}/messages?userid=2&peer=3&limit=50`, undefined, domain.apiKey), 200)
  assert.deepEqual(stored.messages.map((m: any) => m.message.message), ['written while offline', 'Hello from Bob'])
})

browserTest('a conversation still opening gives way to the contact clicked after it', async (t, open) => {
  const server = await startServer(t)
  const { domain, site } = await setUp(t, server)
  await expectStatus('profile', server.api('PUT', `/api/v1/domains/${domain.id}/users/4`, { name: 'Cy' }, domain.apiKey), 200)
  await bobWrites(server, domain, 'Hello from Bob')
  const ada = await openAs(open, site, domain, 2)
  await launcher(ada).click()
  const bob = contacts(ada).getByRole('button', { name: /Bob/ })
  await bob.waitFor()
  // The site opens a conversation with Cy (not a contact yet: her profile is asked for, and is
  // slow to come); meanwhile Ada clicks Bob.
  let profileAsked!: (route: Route) => void
  const held = new Promise<Route>((resolve) => { profileAsked = resolve })
  await ada.route(/\/users\/4$/, (route) => profileAsked(route))
  await ada.evaluate('void (window.__opening = window.mqchat.open(4))')
  const route = await held
  await bob.click()
  await conversation(ada, 'Bob').getByText('Hello from Bob').waitFor()
  await route.continue()
  // The open of Cy has run its course: Bob's conversation is still the one on screen.
  await ada.evaluate('window.__opening')
  assert.equal(await conversation(ada, 'Bob').count(), 1)
  assert.equal(await conversation(ada, 'Cy').count(), 0)
  await send(conversation(ada, 'Bob'), 'to Bob')
  await waitFor(async () => (await expectStatus('history', server.api('GET', `/api/v1/domains/${domain.id}/messages?userid=2&peer=3&limit=1`, undefined, domain.apiKey), 200)).messages[0]?.message.message === 'to Bob', 'the message stored for Bob', 20_000)
})

browserTest('in Arabic the widget is laid out right to left', async (t, open) => {
  const server = await startServer(t)
  const { domain, site } = await setUp(t, server)
  const page = await openAs(open, site, domain, 2, { lang: 'ar' })
  const chat = page.getByRole('button', { name: 'دردشة' })
  const box = (await chat.boundingBox())!
  assert.ok(box.x < 640, `the launcher docks at the bottom left (x=${box.x})`)
  await chat.click()
  const list = page.getByRole('list', { name: 'جهات الاتصال' })
  await list.waitFor()
  assert.equal(await list.evaluate((el) => (globalThis as any).getComputedStyle(el).direction), 'rtl')
  assert.equal(await list.evaluate((el) => (el.closest('[dir]') as any).dir), 'rtl')
})

browserTest('by keyboard alone a visitor goes from the launcher to a sent message', async (t, open) => {
  const server = await startServer(t)
  const { domain, site } = await setUp(t, server)
  const bob = await openAs(open, site, domain, 3)
  const ada = await openAs(open, site, domain, 2)
  const focused = (): Promise<string> => ada.evaluate(`(() => {
    let el = document.activeElement
    while (el?.shadowRoot?.activeElement != null) el = el.shadowRoot.activeElement
    return el.tagName.toLowerCase() + ':' + (el.getAttribute('aria-label') ?? el.innerText ?? '')
  })()`)
  await ada.keyboard.press('Tab')
  assert.equal(await focused(), 'button:Chat')
  await ada.keyboard.press('Enter')
  // Focus moves into the panel, on the first contact.
  await waitFor(async () => (await focused()).includes('Bob'), 'focus on the contact Bob', 20_000)
  await ada.keyboard.press('Enter')
  await waitFor(async () => (await focused()) === 'textarea:', 'focus in the Message field', 20_000).catch(async (e) => { throw new Error(`${e.message}: ${await focused()}`) })
  await ada.keyboard.type('Typed, never clicked')
  await ada.keyboard.press('Enter')
  await (await openConversation(bob, 'Ada')).getByText('Typed, never clicked').waitFor()
  // Escape closes the panel and gives focus back to the launcher.
  await ada.keyboard.press('Escape')
  assert.equal(await focused(), 'button:Chat')
})

browserTest('axe-core finds no serious or critical accessibility violation in the widget', async (t, open) => {
  const server = await startServer(t)
  const { domain, site } = await setUp(t, server)
  await expectStatus('send', server.api('POST', `/api/v1/domains/${domain.id}/messages`, { from_userid: 3, to_userid: 2, message: 'Hello', type: 0 }, domain.apiKey), 201)
  const bob = await openAs(open, site, domain, 3)
  const ada = await openAs(open, site, domain, 2)
  await ada.addScriptTag({ path: AXE })
  const check = async (when: string): Promise<void> => {
    const result = await ada.evaluate(`axe.run({ include: [['[data-mqchat]']] }, { resultTypes: ['violations'] }).then((r) =>
      r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => v.id + ' (' + v.impact + '): ' + v.nodes.map((n) => n.target.join(' ')).join(', ')))`)
    assert.deepEqual(result, [], `no serious or critical violation ${when}`)
  }
  await check('with the launcher alone')
  const withBob = await openConversation(ada, 'Bob')
  await send(withBob, 'Hi')
  await withBob.getByText('Hi', { exact: true }).waitFor()
  await (await openConversation(bob, 'Ada')).getByText('Hi', { exact: true }).waitFor()
  await withBob.getByText('Read', { exact: true }).waitFor()
  await check('in a conversation')
  await withBob.getByRole('button', { name: 'Back to contacts' }).click()
  await check('on the contact list')
})

browserTest('a token that expires is renewed from the site before it lapses, and the chat goes on', async (t, open) => {
  const server = await startServer(t)
  const { domain, site } = await setUp(t, server, { ttlSeconds: 3 })
  const ada = await openAs(open, site, domain, 2)
  const bob = await openAs(open, site, domain, 3)
  // Past the first token's life (3 s): the widget asked the site again.
  await waitFor(() => (site.tokensServed.get(2) ?? 0) >= 3, 'three tokens for Ada', 10_000)
  await new Promise((resolve) => setTimeout(resolve, 1000))
  const withBob = await openConversation(ada, 'Bob')
  await send(withBob, 'still here')
  await (await openConversation(bob, 'Ada')).getByText('still here').waitFor()
})

/**
 * A page signed in as Ada whose loader was made for another build than the server's (as a
 * browser that kept widget.js across a deploy): the first widget.js it asks for is the
 * server's own with its build replaced. `client`: what that loader gets for /client.js,
 * the stale module (the server's answer) or the current client.
 */
async function stalePage (t: TestContext, open: Open, client: 'stale' | 'current'): Promise<Page> {
  const server = await startServer(t)
  const { domain, site } = await setUp(t, server)
  const { page } = await open('about:blank')
  page.setDefaultTimeout(20_000)
  const { build } = await bundleAll()
  const current = await (await fetch(`${server.httpUrl}/widget.js`)).text()
  assert.ok(current.includes(build), 'the loader carries its build')
  await page.route(/\/widget\.js$/, (route: Route) => route.fulfill({ contentType: 'text/javascript', body: current.replaceAll(build, 'stale0build0') }))
  if (client === 'current') {
    const body = await (await fetch(`${server.httpUrl}/client.js`)).text()
    await page.route(/\/client\.js\?v=stale0build0$/, (route: Route) => route.fulfill({ contentType: 'text/javascript', body, headers: { 'access-control-allow-origin': '*' } }))
  }
  await page.goto(site.url(2, { 'data-domain': domain.id }))
  return page
}

browserTest('a loader the browser kept across a deploy hands over to a fresh one: the chat works, once', async (t, open) => {
  const page = await stalePage(t, open, 'stale')
  // the stale loader gets the stale module for /client.js?v=…, and a fresh loader takes over
  await page.locator('script[data-mqchat-fresh]').waitFor({ state: 'attached' })
  await launcher(page).click()
  await contacts(page).waitFor()
  assert.equal(await page.locator('[data-mqchat]').count(), 1, 'one widget on the page')
})

browserTest('an interface newer than the page\'s loader is not mounted on it: a fresh loader opens the panel instead', async (t, open) => {
  const page = await stalePage(t, open, 'current')
  await waitFor(() => page.evaluate('window.mqchat !== undefined'), 'the stale loader connected')
  // its first open asks for /widget-ui.js?v=<its build>: stale; the fresh loader opens the panel
  await launcher(page).click()
  await contacts(page).waitFor()
  assert.equal(await page.locator('script[data-mqchat-fresh][data-mqchat-open]').count(), 1, 'the fresh loader, asked to open')
  assert.equal(await page.locator('[data-mqchat]').count(), 1, 'one widget on the page')
})

browserTest('a page on an origin the domain does not allow gets no chat', async (t, open) => {
  const server = await startServer(t)
  const { domain, site } = await setUp(t, server)
  await expectStatus('origins', server.api('PATCH', `/api/v1/domains/${domain.id}`, { allowedOrigins: ['https://shop.example'] }, domain.apiKey), 200)
  const { page, errors } = await open(site.url(2, { 'data-domain': domain.id }))
  await waitFor(() => errors.some((e) => e.includes('mqchat:')), 'the widget reports the refusal', 20_000)
  assert.equal(await page.locator('[data-mqchat]').count(), 0, 'no launcher leading nowhere')
  // The browser client on its own is refused at CONNECT too.
  // (A string, not a function: the test's TypeScript transform would add helpers the page lacks.)
  const refused = await page.evaluate(`import(${JSON.stringify(server.httpUrl + '/client.js')}).then(({ connect }) =>
    connect({ url: ${JSON.stringify(server.httpUrl)}, domain: ${JSON.stringify(domain.id)}, getToken: () => ${JSON.stringify(await server.token(domain, 2))} }))
    .then(() => 'connected', (e) => e.code ?? String(e))`)
  assert.equal(refused, 'not_authorized')
})

browserTest('Attach opens the file chooser for a picture from disk', async (t, open) => {
  const server = await startServer(t)
  const { domain, site } = await setUp(t, server)
  const ada = await openAs(open, site, domain, 2)
  await openAs(open, site, domain, 3)
  const withBob = await openConversation(ada, 'Bob')
  const [chooser] = await Promise.all([ada.waitForEvent('filechooser'), withBob.getByRole('button', { name: 'Attach', exact: true }).click()])
  assert.equal(chooser.isMultiple(), false)
  assert.match((await chooser.element().getAttribute('accept'))!, /image\/jpeg/)
})

test('the bundles are served to any origin, revalidated, and current after an update', async (t) => {
  const server = await startServer(t)
  for (const name of ['widget.js', 'client.js', 'widget-ui.js']) {
    const r = await fetch(`${server.httpUrl}/${name}`, { headers: { origin: 'https://shop.example' } })
    assert.equal(r.status, 200, name)
    assert.match(r.headers.get('content-type')!, /^text\/javascript/)
    assert.equal(r.headers.get('access-control-allow-origin'), '*')
    assert.match(r.headers.get('cache-control')!, /max-age=300, must-revalidate/)
    const etag = r.headers.get('etag')!
    assert.ok((await r.arrayBuffer()).byteLength > 1000)
    const again = await fetch(`${server.httpUrl}/${name}`, { headers: { 'if-none-match': etag } })
    assert.equal(again.status, 304)
  }
  // The loader asks for the modules of its own build: kept for a year; another build is stale.
  const { build } = await bundleAll()
  for (const name of ['client.js', 'widget-ui.js']) {
    const same = await fetch(`${server.httpUrl}/${name}?v=${build}`)
    assert.equal(same.headers.get('cache-control'), 'public, max-age=31536000, immutable')
    assert.ok((await same.arrayBuffer()).byteLength > 1000)
    const other = await fetch(`${server.httpUrl}/${name}?v=older`)
    assert.equal(other.headers.get('cache-control'), 'no-store')
    assert.equal(await other.text(), 'export const stale = true\n')
  }
  const sticker = await fetch(`${server.httpUrl}/stickers/heart.svg`)
  assert.equal(sticker.status, 200)
  assert.equal(sticker.headers.get('content-type'), 'image/svg+xml')
})

browserTest('the admin panel shows the tag to paste for the domain', async (t, open) => {
  const server = await startServer(t)
  const domain = await server.domain()
  const { page, errors } = await open(server.httpUrl)
  page.setDefaultTimeout(5000)
  await page.getByLabel('API key').fill(domain.apiKey)
  await page.getByRole('button', { name: 'Sign in' }).click()
  const section = page.getByRole('region', { name: 'Chat on your site' })
  const tag = await section.locator('code').innerText()
  assert.equal(tag, `<script src="${server.httpUrl}/widget.js" data-domain="${domain.id}" data-token-url="/mqchat-token" async></script>`)
  await section.getByRole('button', { name: 'Copy the tag' }).waitFor()
  assert.deepEqual(errors.filter((e) => !e.includes('favicon.ico')), [])
})

// The files API (SPEC §8, POST …/files) is another piece of work: until it is in this tree,
// these check the widget up to the upload call itself (what it sends, and with what type).
/** A browser of the test's own with Chromium's fake camera and microphone, allowed without a prompt. */
async function mediaBrowser (t: TestContext): Promise<Browser> {
  const media = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run', '--disable-component-update',
      '--disable-sync', '--disable-dev-shm-usage', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream']
  })
  t.after(() => media.close())
  return media
}

test('a picture from disk, one from the camera and a voice record go up to the files API as the bytes they are', async (t) => {
  const media = await mediaBrowser(t)
  const server = await startServer(t)
  const { domain, site } = await setUp(t, server)
  const context = await media.newContext()
  const page = await context.newPage()
  // generous: in CI the browser shares two cores with the other suites (clusters, servers)
  page.setDefaultTimeout(20_000)
  // What the widget hands fetch for an upload, read in the page (a Blob body is not in
  // Playwright's view of a request); the call itself goes on to the server unchanged.
  await page.addInitScript(`window.__uploads = []
    const fetch0 = window.fetch
    window.fetch = function (url, init) {
      if (init && init.method === 'POST' && String(url).endsWith('/files')) {
        window.__uploads.push({ type: init.headers['content-type'], bytes: init.body.size, auth: /^Bearer ey/.test(init.headers.authorization) })
      }
      return fetch0.apply(this, arguments)
    }`)
  const uploadsNow = (): Promise<Array<{ type: string, bytes: number, auth: boolean }>> => page.evaluate('window.__uploads')
  await page.goto(site.url(2, { 'data-domain': domain.id }))
  try {
    // Through the page API: open the conversation with user 3 (Bob, offline).
    await page.waitForFunction('window.mqchat !== undefined')
    await page.evaluate('window.mqchat.open(3)')
    const region = conversation(page, 'Bob')
    await region.waitFor()
    const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64')
    const [chooser] = await Promise.all([page.waitForEvent('filechooser'), region.getByRole('button', { name: 'Attach', exact: true }).click()])
    await chooser.setFiles({ name: 'dot.png', mimeType: 'image/png', buffer: png })
    let uploads = await waitFor(async () => { const u = await uploadsNow(); return u.length === 1 ? u : null }, 'the picture uploaded', 20_000)
    assert.deepEqual(uploads[0], { type: 'image/png', bytes: png.length, auth: true })

    await region.getByRole('button', { name: 'Take a picture' }).click()
    await region.locator('video').waitFor()
    await page.waitForFunction(`document.querySelector('[data-mqchat]').shadowRoot.querySelector('video').videoWidth > 0`)
    await region.getByRole('button', { name: 'Capture' }).click()
    uploads = await waitFor(async () => { const u = await uploadsNow(); return u.length === 2 ? u : null }, 'the camera picture uploaded', 20_000)
    assert.equal(uploads[1]!.type, 'image/jpeg')
    assert.ok(uploads[1]!.bytes > 1000, `a real frame (${uploads[1]!.bytes} bytes)`)

    await region.getByRole('button', { name: 'Record a voice message' }).click()
    const stop = region.getByRole('button', { name: 'Stop and send the recording' })
    await stop.waitFor()
    assert.equal(await stop.getAttribute('aria-pressed'), 'true')
    await new Promise((resolve) => setTimeout(resolve, 1200))
    await stop.click()
    uploads = await waitFor(async () => { const u = await uploadsNow(); return u.length === 3 ? u : null }, 'the record uploaded', 20_000)
    // Chromium records MP4/AAC where it can (Safari plays it), else WebM/Opus.
    assert.match(uploads[2]!.type, /^audio\/(mp4|webm)$/, uploads[2]!.type)
    assert.ok(uploads[2]!.bytes > 1000, `a real record (${uploads[2]!.bytes} bytes)`)

    // The files API took all three, and each went out as its message type (2 from disk, 4
    // from the camera, 3 a record) carrying its file's URL, which serves the file.
    const sent = await waitFor(async () => {
      const r = await server.api('GET', `/api/v1/domains/${domain.id}/messages?userid=2&peer=3`, undefined, domain.apiKey)
      const files = (r.body.messages as any[]).filter((m) => [2, 3, 4].includes(m.message.type))
      return files.length === 3 ? files : null
    }, 'the three file messages stored', 15_000)
    assert.deepEqual(sent.map((m) => m.message.type).sort(), [2, 3, 4])
    for (const m of sent) {
      assert.match(m.message.message, new RegExp(`/files/${domain.id}/`))
      const res = await fetch(m.message.message)
      assert.equal(res.status, 200, m.message.message)
    }
  } catch (err) {
    await page.screenshot({ path: path.join(import.meta.dirname, '..', 'test-artifacts', 'widget-media.png') }).catch(() => {})
    throw err
  }
})

test('the camera and the microphone go off when their tool closes, the conversation is left or the panel closes; a record cut short is never sent', async (t) => {
  const media = await mediaBrowser(t)
  const server = await startServer(t)
  const { domain, site } = await setUp(t, server)
  await expectStatus('profile', server.api('PUT', `/api/v1/domains/${domain.id}/users/4`, { name: 'Cy' }, domain.apiKey), 200)
  const page = await (await media.newContext()).newPage()
  page.setDefaultTimeout(20_000)
  // Every stream the page is given, every recorder made (and whether it has stopped), every upload.
  await page.addInitScript(`window.__streams = []; window.__recorders = []; window.__uploads = 0
    const getUserMedia = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices)
    navigator.mediaDevices.getUserMedia = (c) => getUserMedia(c).then((s) => { window.__streams.push(s); return s })
    window.MediaRecorder = class extends window.MediaRecorder {
      constructor (...args) { super(...args); window.__recorders.push(this); this.addEventListener('stop', () => { this.stopped = true }) }
    }
    const fetch0 = window.fetch
    window.fetch = function (url, init) {
      if (init && init.method === 'POST' && String(url).endsWith('/files')) window.__uploads++
      return fetch0.apply(this, arguments)
    }`)
  const liveTracks = (): Promise<string[]> => page.evaluate(`window.__streams.flatMap((s) => s.getTracks()).filter((t) => t.readyState === 'live').map((t) => t.kind)`)
  const off = (what: string): Promise<unknown> => waitFor(async () => (await liveTracks()).length === 0, what, 20_000)
  await page.goto(site.url(2, { 'data-domain': domain.id }))
  await page.waitForFunction('window.mqchat !== undefined')
  try {
    // Bob and Cy are offline, with no conversation yet: opened through the page API.
    await page.evaluate('window.mqchat.open(3)')
    let region = conversation(page, 'Bob')
    await region.waitFor()

    // The camera's preview, closed by opening the emoji picker in its place.
    await region.getByRole('button', { name: 'Take a picture' }).click()
    await region.locator('video').waitFor()
    assert.deepEqual(await liveTracks(), ['video'])
    await region.getByRole('button', { name: 'Emoji' }).click()
    await region.getByRole('group', { name: 'Emoji' }).waitFor()
    assert.equal(await region.locator('video').count(), 0)
    await off('the camera off once its preview is closed')

    // The camera's preview, then back to the contact list.
    await region.getByRole('button', { name: 'Take a picture' }).click()
    await region.locator('video').waitFor()
    await region.getByRole('button', { name: 'Back to contacts' }).click()
    await contacts(page).waitFor()
    await off('the camera off once the conversation is left')

    // Recording, then the panel closed with Escape; then recording, and another conversation opened.
    const record = async (): Promise<void> => {
      await region.getByRole('button', { name: 'Record a voice message' }).click()
      await region.getByRole('button', { name: 'Stop and send the recording' }).waitFor()
      await page.waitForFunction(`window.__recorders.at(-1)?.state === 'recording'`)
      assert.deepEqual(await liveTracks(), ['audio'])
    }
    const cutShort = async (what: string): Promise<void> => {
      await off(`the microphone off once ${what}`)
      // (The recorder's stop event has run the widget's own handler, which would start the upload.)
      await page.waitForFunction('window.__recorders.at(-1).stopped === true')
      assert.equal(await page.evaluate('window.__uploads'), 0, `nothing uploaded once ${what}`)
    }
    await page.evaluate('window.mqchat.open(3)')
    await region.waitFor()
    await record()
    await page.keyboard.press('Escape')
    await cutShort('the panel is closed')
    await launcher(page).click()
    // The record button is ready for the next record.
    await region.getByRole('button', { name: 'Record a voice message' }).waitFor()
    await record()
    await page.evaluate('window.mqchat.open(4)')
    region = conversation(page, 'Cy')
    await region.waitFor()
    await cutShort('another conversation is opened')

    // Nothing went to Bob.
    const stored = await expectStatus('history', server.api('GET', `/api/v1/domains/${domain.id}/messages?userid=2&peer=3`, undefined, domain.apiKey), 200)
    assert.deepEqual(stored.messages, [])
  } catch (err) {
    await page.screenshot({ path: path.join(import.meta.dirname, '..', 'test-artifacts', 'widget-media-off.png') }).catch(() => {})
    throw err
  }
})

browserTest('embedded in the page: older messages page in on scroll, stickers and call notices show', async (t, open) => {
  const server = await startServer(t)
  const { domain, site } = await setUp(t, server)
  for (let i = 1; i <= 40; i++) {
    await expectStatus('send', server.api('POST', `/api/v1/domains/${domain.id}/messages`, { from_userid: i % 2 === 0 ? 2 : 3, to_userid: i % 2 === 0 ? 3 : 2, message: `line ${i}`, type: 0 }, domain.apiKey), 201)
  }
  await expectStatus('send', server.api('POST', `/api/v1/domains/${domain.id}/messages`, { from_userid: 3, to_userid: 2, message: '', type: 5 }, domain.apiKey), 201)
  const ada = await openAs(open, site, domain, 2, { tag: { 'data-layout': 'embedded', 'data-target': '#chat-here' } })
  // No launcher: the contact list is in the page's own element at once.
  assert.equal(await launcher(ada).count(), 0)
  const list = contacts(ada)
  await list.waitFor()
  assert.ok(await ada.locator('#chat-here [data-mqchat]').count() === 1, 'inside data-target')
  await list.getByRole('button', { name: /Bob/ }).click()
  const region = conversation(ada, 'Bob')
  await region.getByText('Call', { exact: false }).waitFor()
  // The first page is the newest 30; scrolling to the top brings the rest, in order.
  await waitFor(async () => (await texts(region)).length === 30, 'the first page', 20_000)
  await region.getByRole('list').evaluate((el) => { el.scrollTop = 0 })
  await waitFor(async () => (await texts(region)).length === 41, 'the older page', 20_000)
  const shown = (await texts(region)).filter((x) => x.startsWith('line '))
  assert.deepEqual(shown, Array.from({ length: 40 }, (_, i) => `line ${i + 1}`))

  await region.getByRole('button', { name: 'Stickers' }).click()
  await region.getByRole('group', { name: 'Stickers' }).getByRole('button', { name: 'heart' }).click()
  await region.getByRole('img', { name: 'Sticker' }).last().waitFor()
  // (drawn at once, as it is sent: the stored message follows)
  const stored = await waitFor(async () => {
    const h = await expectStatus('history', server.api('GET', `/api/v1/domains/${domain.id}/messages?userid=2&peer=3&limit=1`, undefined, domain.apiKey), 200)
    return h.messages[0].message.type === 5 ? null : h
  }, 'the sticker stored', 20_000)
  assert.deepEqual([stored.messages[0].message.type, stored.messages[0].message.message], [1, `${server.httpUrl}/stickers/heart.svg`])
})
