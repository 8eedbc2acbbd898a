// The widget's web push (SPEC §10.1) in chromium: the visitor opts in with the panel's
// button (the browser asks for permission only then), the site's service worker (which
// imports the server's /sw.js) shows the push as a notification, and its click brings the
// visitor back to the conversation.
//
// Headless chromium has no push service to subscribe with ("Registration failed - permission
// denied" on loopback): PushManager.subscribe is replaced by an init script that answers a
// subscription of the test's own push service, which decrypts what the server sends. That
// push is then delivered to the real service worker over CDP (ServiceWorker.deliverPushMessage),
// and what it shows is read with registration.getNotifications(). A notification cannot be
// clicked headless: the worker's click handler is run on the shown notification's data.
import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import type { Page } from 'playwright-core'
import { browserTest, closeBrowser } from './helpers/browser.ts'
import { hostPage } from './helpers/host-page.ts'
import { pushService } from './helpers/push-service.ts'
import { expectStatus } from './helpers/rest.ts'
import { startServer } from './helpers/server.ts'
import { waitFor } from './helpers/wait.ts'
import { peerOfHash, pickWindow, targetUrl } from '../widget/push-target.ts'

after(() => closeBrowser())

/** The browser's push subscription, as the test's push service made it; records what the widget did. */
const fakePush = (sub: unknown): string => `(() => {
  const sub = ${JSON.stringify(sub)}
  window.__asked = 0
  const ask = Notification.requestPermission.bind(Notification)
  Notification.requestPermission = (...a) => { window.__asked++; return ask(...a) }
  const b64 = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '')
  const unb64 = (t) => Uint8Array.from(atob(t.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0)).buffer
  // kept for the origin, as a browser keeps its subscription across pages
  const made = (key) => ({ endpoint: sub.endpoint, expirationTime: null, options: { userVisibleOnly: true, applicationServerKey: key },
    toJSON: () => sub, getKey: () => null,
    unsubscribe: async () => { localStorage.removeItem('fake-push-key'); window.__unsubscribed = true; return true } })
  PushManager.prototype.subscribe = async function (opts) {
    const key = opts.applicationServerKey instanceof ArrayBuffer ? opts.applicationServerKey : opts.applicationServerKey.buffer
    window.__pushKey = b64(key)
    localStorage.setItem('fake-push-key', b64(key))
    return made(key)
  }
  PushManager.prototype.getSubscription = async function () {
    const key = localStorage.getItem('fake-push-key')
    return key === null ? null : made(unb64(key))
  }
})()`

const notifyButton = (page: Page) => page.getByRole('button', { name: 'Notify me' })

browserTest('a visitor who opts in and closes the tab is notified of a new message; the click opens the conversation', async (t, open) => {
  const ps = await pushService(t)
  const server = await startServer(t, {}, { MQCHAT_CALLBACK_ALLOW_PRIVATE: '1' })
  const domain = await server.domain()
  for (const [id, name] of [[2, 'Ada'], [3, 'Bob']] as const) {
    await expectStatus('profile', server.api('PUT', `/api/v1/domains/${domain.id}/users/${id}`, { name }, domain.apiKey), 200)
  }
  const site = await hostPage(t, server.httpUrl, (uid) => server.token(domain, uid))
  const tag = { 'data-domain': domain.id, 'data-service-worker': '/mqchat-sw.js' }
  const browser = ps.subscription()
  const { page } = await open('about:blank')
  page.setDefaultTimeout(20_000)
  const context = page.context()
  await context.grantPermissions(['notifications'], { origin: site.origin })
  await context.addInitScript(fakePush(browser.toJSON()))
  const adaUrl = site.url(2, tag)
  await page.goto(adaUrl)

  await page.getByRole('button', { name: 'Chat', exact: true }).click()
  const notify = notifyButton(page)
  await notify.waitFor()
  assert.equal(await notify.getAttribute('aria-pressed'), 'false')
  assert.equal(await page.evaluate('window.__asked'), 0, 'no permission asked before the visitor opts in')
  await notify.click()
  await waitFor(async () => await notify.getAttribute('aria-pressed') === 'true', 'the button on')
  assert.equal(await page.evaluate('window.__asked'), 1)
  const { publicKey } = await (await fetch(`${server.httpUrl}/api/v1/push/key`)).json() as { publicKey: string }
  assert.equal(await page.evaluate('window.__pushKey'), publicKey, 'subscribed with the server\'s key')
  await waitFor(async () => (await server.app.store.listPushSubscriptions(domain.id, 2)).length === 1, 'the subscription on the server')
  assert.equal((await server.app.store.listPushSubscriptions(domain.id, 2))[0]!.endpoint, browser.endpoint)

  // Ada closes the tab (her browser, with its service worker, stays).
  const blank = await context.newPage()
  await blank.goto(`${site.origin}/blank`)
  await page.close()
  await waitFor(() => !server.app.chat.presence.connectedHere(domain.id, 2), 'Ada has no connection left', 10_000)
  const sent = await expectStatus('send', server.api('POST', `/api/v1/domains/${domain.id}/messages`, { from_userid: 3, to_userid: 2, message: 'Lunch at one?', type: 0 }, domain.apiKey), 201)
  const [pushed] = await ps.count(1)
  assert.deepEqual(pushed!.payload, { title: 'Bob', body: 'Lunch at one?', domain: domain.id, peer: 3, id: sent.message.id })

  // The push reaches the service worker, which shows it.
  const cdp = await context.newCDPSession(blank)
  const registrations: Array<{ registrationId: string, scopeURL: string, isDeleted: boolean }> = []
  cdp.on('ServiceWorker.workerRegistrationUpdated', (e) => registrations.push(...e.registrations))
  await cdp.send('ServiceWorker.enable')
  const reg = await waitFor(() => registrations.find((r) => r.scopeURL === `${site.origin}/mqchat-push/` && !r.isDeleted), 'the widget\'s service worker')
  await cdp.send('ServiceWorker.deliverPushMessage', { origin: site.origin, registrationId: reg.registrationId, data: JSON.stringify(pushed!.payload) })
  const shown = await waitFor(async () => {
    const ns = await blank.evaluate(`navigator.serviceWorker.getRegistration('/mqchat-push/').then((r) => r.getNotifications())
      .then((ns) => ns.map((n) => ({ title: n.title, body: n.body, data: n.data })))`) as Array<{ title: string, body: string, data: any }>
    return ns.length > 0 ? ns : null
  }, 'the notification shown')
  assert.deepEqual(shown.map((n) => [n.title, n.body]), [['Bob', 'Lunch at one?']])
  assert.equal(shown[0]!.data.page, adaUrl, 'it knows the page Ada subscribed from')

  // Ada's page is open again: the click tells it to open the conversation with Bob.
  const again = await context.newPage()
  again.setDefaultTimeout(20_000)
  await again.goto(adaUrl)
  await waitFor(async () => await again.evaluate('typeof window.mqchat === "object"'), 'the widget ready')
  const worker = context.serviceWorkers().find((w) => w.url().startsWith(`${site.origin}/mqchat-sw.js`))
  assert.ok(worker !== undefined, 'the worker, running')
  const outcome = await worker.evaluate(`self.registration.getNotifications().then((ns) => self.mqchatOpenConversation(ns[0].data))`)
  assert.equal(outcome, 'focused')
  await again.getByRole('region', { name: 'Bob', exact: true }).waitFor()

  // Opened fresh from a click (the worker's openWindow): the page with #mqchat=3 opens it too.
  const fresh = await context.newPage()
  fresh.setDefaultTimeout(20_000)
  await fresh.goto(targetUrl(adaUrl, site.origin, 3))
  await fresh.getByRole('region', { name: 'Bob', exact: true }).waitFor()
  assert.equal(new URL(fresh.url()).hash, '', 'the hash is the widget\'s, and gone once read')

  // Someone else signs in on this browser: the subscription follows them (nobody is notified
  // of another's messages), and back.
  const bob = await context.newPage()
  bob.setDefaultTimeout(20_000)
  await bob.goto(site.url(3, tag))
  await waitFor(async () => (await server.app.store.listPushSubscriptions(domain.id, 3)).length === 1, 'the browser\'s subscription now Bob\'s')
  assert.deepEqual(await server.app.store.listPushSubscriptions(domain.id, 2), [])
  await bob.close()
  await fresh.reload()
  await waitFor(async () => (await server.app.store.listPushSubscriptions(domain.id, 2)).length === 1, 'Ada\'s again')

  // Turned off: the server forgets the subscription, and the browser's goes too.
  await fresh.getByRole('button', { name: 'Chat', exact: true }).click()
  const off = notifyButton(fresh)
  await waitFor(async () => await off.getAttribute('aria-pressed') === 'true', 'the button shows the subscription of an earlier visit')
  await off.click()
  await waitFor(async () => await off.getAttribute('aria-pressed') === 'false', 'the button off')
  await waitFor(async () => (await server.app.store.listPushSubscriptions(domain.id, 2)).length === 0, 'the subscription removed on the server')
  assert.equal(await fresh.evaluate('window.__unsubscribed'), true)
})

browserTest('no opt-in where a page cannot have a service worker of its own, and a refusal is said', async (t, open) => {
  const server = await startServer(t)
  const domain = await server.domain()
  const site = await hostPage(t, server.httpUrl, (uid) => server.token(domain, uid))
  // another origin than mqchat's, and no data-service-worker: nothing to offer
  const { page } = await open(site.url(2, { 'data-domain': domain.id }))
  page.setDefaultTimeout(20_000)
  await page.getByRole('button', { name: 'Chat', exact: true }).click()
  await page.getByRole('list', { name: 'Contacts' }).waitFor()
  assert.equal(await notifyButton(page).count(), 0)
  // with one, but notifications denied: the button stays off and says why
  const { page: denied } = await open('about:blank')
  denied.setDefaultTimeout(20_000)
  await denied.evaluate('0')
  await denied.context().addInitScript('Notification.requestPermission = async () => "denied"')
  await denied.goto(site.url(2, { 'data-domain': domain.id, 'data-service-worker': '/mqchat-sw.js' }, 'fr'))
  await denied.getByRole('button', { name: 'Chat', exact: true }).click()
  const btn = denied.getByRole('button', { name: 'M’avertir' })
  await btn.click()
  await denied.getByRole('status').filter({ hasText: 'bloquées' }).waitFor()
  assert.equal(await btn.getAttribute('aria-pressed'), 'false')
})

test('a click leads to the page subscribed from, with the conversation, in the window that shows it', () => {
  assert.equal(targetUrl('https://shop.test/p/1?x=2#top', 'https://shop.test/', 3), 'https://shop.test/p/1?x=2#mqchat=3')
  assert.equal(targetUrl(null, 'https://shop.test/', 3), 'https://shop.test/#mqchat=3')
  assert.equal(targetUrl('not a url', 'https://shop.test/', 7), 'https://shop.test/#mqchat=7')
  const windows = [{ url: 'https://shop.test/' }, { url: 'https://shop.test/p/1?x=2#reviews' }]
  assert.equal(pickWindow(windows, 'https://shop.test/p/1?x=2#mqchat=3'), windows[1])
  assert.equal(pickWindow(windows, 'https://shop.test/p/2#mqchat=3'), undefined)
  assert.equal(peerOfHash('#mqchat=3'), 3)
  for (const h of ['', '#mqchat=', '#mqchat=0', '#mqchat=3x', '#other=3', '#mqchat=99999999999999999']) assert.equal(peerOfHash(h), null, h)
})
