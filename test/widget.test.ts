// The widget (SPEC §9) as visitors use it: a customer's page on another origin than mqchat,
// with the one tag, in Debian's chromium; two browser contexts are two signed-in visitors.
// Found by the fixed names of §9: the launcher `Chat`, the list `Contacts`, the region named
// after the peer, the field `Message`, the button `Send`, the accessible text `Read`.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { after, type TestContext } from 'node:test'
import { createRequire } from 'node:module'
import type { Locator, Page } from 'playwright-core'
import { browserTest, closeBrowser, type Open } from './helpers/browser.ts'
import { hostPage, type HostPage } from './helpers/host-page.ts'
import { expectStatus } from './helpers/rest.ts'
import { startServer, type TestServer } from './helpers/server.ts'
import { waitFor } from './helpers/wait.ts'

after(() => closeBrowser())

type Domain = { id: string, apiKey: string, tokenSecret: string }
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js')

/** A domain with two named users, Ada (2) and Bob (3), and a site that signs them in. */
async function setUp (t: TestContext, server: TestServer, ttlSeconds = 3600): Promise<{ domain: Domain, site: HostPage }> {
  const domain = await server.domain()
  for (const [id, name] of [[2, 'Ada'], [3, 'Bob']] as const) {
    await expectStatus('profile', server.api('PUT', `/api/v1/domains/${domain.id}/users/${id}`, { name }, domain.apiKey), 200)
  }
  const site = await hostPage(t, server.httpUrl, (uid) => server.token(domain, uid, ttlSeconds))
  return { domain, site }
}

/** Records the widget's document events (mqchat:ready, :message, :unread) from the start. */
async function openAs (open: Open, site: HostPage, domain: Domain, userid: number, opts: { lang?: string, tag?: Record<string, string> } = {}): Promise<Page> {
  const { page } = await open('about:blank')
  page.setDefaultTimeout(8000)
  await page.addInitScript(() => {
    const w = window as any
    w.__events = []
    for (const name of ['mqchat:ready', 'mqchat:message', 'mqchat:unread']) {
      document.addEventListener(name, (e) => w.__events.push({ name, detail: (e as CustomEvent).detail }))
    }
  })
  await page.goto(site.url(userid, { 'data-domain': domain.id, ...opts.tag }, opts.lang))
  await waitFor(() => page.evaluate(() => (window as any).__events.some((e: any) => e.name === 'mqchat:ready')), 'mqchat:ready', 10_000)
  return page
}

const events = (page: Page, name: string): Promise<any[]> =>
  page.evaluate((n) => (window as any).__events.filter((e: any) => e.name === n).map((e: any) => e.detail), name)

const launcher = (page: Page): Locator => page.getByRole('button', { name: 'Chat', exact: true })
const contacts = (page: Page): Locator => page.getByRole('list', { name: 'Contacts' })
const conversation = (page: Page, peer: string): Locator => page.getByRole('region', { name: peer, exact: true })

async function openConversation (page: Page, peer: string): Promise<Locator> {
  if (await contacts(page).count() === 0 && await conversation(page, peer).count() === 0) await launcher(page).click()
  if (await conversation(page, peer).count() === 0) await contacts(page).getByRole('button', { name: new RegExp(peer) }).click()
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
  region.getByRole('list').locator('li.msg').evaluateAll((els) => els.map((e) => {
    const clone = e.cloneNode(true) as HTMLElement
    for (const x of clone.querySelectorAll('.sr, .meta')) x.remove()
    return clone.textContent ?? ''
  }))

browserTest('two visitors chat through the widget on a site of another origin: contacts, presence, unread, typing, read ticks', async (t, open) => {
  const server = await startServer(t)
  const { domain, site } = await setUp(t, server)
  await expectStatus('send', server.api('POST', `/api/v1/domains/${domain.id}/messages`, { from_userid: 3, to_userid: 2, message: 'Hello from Bob', type: 0 }, domain.apiKey), 201)

  const ada = await openAs(open, site, domain, 2)
  // Connected on page load: the unread count shows on the launcher before any open.
  await waitFor(async () => (await events(ada, 'mqchat:unread')).some((d) => d.total === 1), 'mqchat:unread total 1')
  assert.match(await launcher(ada).getAttribute('aria-describedby').then((id) => ada.locator(`[data-mqchat] #${id}`).innerText()), /1 unread message/)
  assert.equal(await launcher(ada).locator('.badge').innerText(), '1')
  // The site's styles stop at the shadow root.
  assert.notEqual(await launcher(ada).evaluate((b) => getComputedStyle(b).backgroundColor), 'rgb(255, 0, 0)')

  const bob = await openAs(open, site, domain, 3)
  await launcher(ada).click()
  const bobRow = contacts(ada).getByRole('listitem').filter({ hasText: 'Bob' })
  await bobRow.getByText('online').waitFor()
  assert.equal(await bobRow.locator('.count').innerText().then((s) => s.trim().split('\n')[0]), '1')

  const withBob = await openConversation(ada, 'Bob')
  await withBob.getByText('Hello from Bob').waitFor()
  // Read on screen: the count drops to 0, on the launcher and in the event.
  await waitFor(async () => (await events(ada, 'mqchat:unread')).at(-1)?.total === 0, 'mqchat:unread total 0')

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
  await waitFor(async () => (await events(bob, 'mqchat:unread')).at(-1)?.total === 1, 'Bob unread 1')
  assert.equal(await launcher(bob).locator('.badge').innerText(), '1')
  await launcher(bob).click()
  await conversation(bob, 'Ada').getByText('Are you there?').waitFor()
  await waitFor(async () => (await events(bob, 'mqchat:unread')).at(-1)?.total === 0, 'Bob unread 0')

  // Bob leaves: Ada's contact list shows him offline.
  await bob.context().close()
  await withBob.getByRole('button', { name: 'Back to contacts' }).click()
  await contacts(ada).getByRole('listitem').filter({ hasText: 'Bob' }).getByText('offline').waitFor()
})
