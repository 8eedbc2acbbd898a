// The admin panel (SPEC §5) as a person uses it: a real browser (Debian chromium), found by
// the labels and roles a person sees, against a real server and a real callback receiver.
// The fixed labels: `API key` + `Sign in`; sections `Presence callback` / `Messages callback`
// with `Callback URL`, `Enabled`, `Save`, `Send test`, `Replay` and a table of log rows;
// a section `Online now`.
import assert from 'node:assert/strict'
import { after } from 'node:test'
import jwt from 'jsonwebtoken'
import mqtt from 'mqtt'
import type { Locator, Page } from 'playwright-core'
import { browserTest, closeBrowser } from './helpers/browser.ts'
import { answer, receiver } from './helpers/receiver.ts'
import { startServer, type TestServer } from './helpers/server.ts'
import { waitFor } from './helpers/wait.ts'

const PRIVATE_OK = { MQCHAT_CALLBACK_ALLOW_PRIVATE: '1' }
/** The panel refreshes by itself every 5 s: a change shows within one refresh, plus slack. */
const ONE_REFRESH_MS = 8000
const HTML_BODY = '<b>bold</b><img src=x onerror=alert(2)>'

type Domain = { id: string, apiKey: string, tokenSecret: string }

after(() => closeBrowser())

// --- what a person does ---

async function signIn (page: Page, key: string): Promise<void> {
  // Anything a person would wait for shows in well under 5 s (the refresh waits say so).
  page.setDefaultTimeout(5000)
  await page.getByLabel('API key').fill(key)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByRole('button', { name: 'Sign out' }).waitFor()
}

/** A section, found by its name (its heading, through aria-labelledby), as outside checks do. */
const section = (page: Page, title: 'Presence callback' | 'Messages callback' | 'Online now' | 'Recent messages'): Locator =>
  page.getByRole('region', { name: title, exact: true })

/**
 * The recent messages: the section that holds that heading. (Found by the heading it shows,
 * not by its accessible name, which the test 'each section … is named by its own heading'
 * checks: here that bug must not hide the table's own behaviour.)
 */
const recentMessages = (page: Page): Locator =>
  page.getByRole('region').filter({ has: page.getByRole('heading', { name: 'Recent messages', exact: true }) })

/** The log rows of a callback section (each has its Details/Hide button). */
const logRows = (region: Locator): Locator =>
  region.getByRole('table').getByRole('row').filter({ has: region.page().getByRole('button', { name: /^(Details|Hide)$/ }) })

const cellTexts = async (row: Locator): Promise<string[]> => (await row.getByRole('cell').allInnerTexts()).map((s) => s.trim())

/** Unix seconds as the panel shows them: the browser's own locale and time zone. */
const localTime = (page: Page, sec: number): Promise<string> =>
  page.evaluate((s) => new Date(s * 1000).toLocaleString(), sec)

/** The state line of a callback ("On · …" / "Off — …"), as text. */
const stateText = (region: Locator): Promise<string> => region.getByRole('paragraph').filter({ hasText: /^(On|Off)\b/ }).innerText()

/**
 * No script errors in the page. A refused API call (400 for a bad URL, 401 for a wrong key)
 * is logged by Chromium itself as "Failed to load resource"; a test that provokes one on
 * purpose names its status and path here. Anything else (an uncaught error, a CSP violation,
 * a 404 for a file the page needs) fails the test. The one exception, the browser's own
 * request for /favicon.ico, has its own test below ('the panel loads with a clean console').
 */
const FAVICON_404 = /^console: Failed to load resource: the server responded with a status of 404 \(Not Found\) \[[^\]]*\/favicon\.ico\]$/
function assertNoScriptErrors (errors: string[], expected: Array<[status: number, path: string]> = []): void {
  const unexpected = errors.filter((e) => !FAVICON_404.test(e) && !expected.some(([status, path]) =>
    e.startsWith(`console: Failed to load resource: the server responded with a status of ${status} `) && e.endsWith(`${path}]`)))
  assert.deepEqual(unexpected, [], 'no script errors in the page')
}

/** Records every alert/confirm/prompt the page opens (there should be none). */
function watchDialogs (page: Page): string[] {
  const seen: string[] = []
  page.on('dialog', (d) => { seen.push(`${d.type()}: ${d.message()}`); void d.dismiss() })
  return seen
}

// --- set-up through the API (what the customer's server would do) ---

async function setCallback (s: TestServer, d: Domain, kind: 'presence' | 'messages', body: { url?: string, enabled?: boolean }): Promise<any> {
  const r = await s.api('PUT', `/api/v1/domains/${d.id}/callbacks/${kind}`, body, d.apiKey)
  assert.equal(r.status, 200, JSON.stringify(r.body))
  return r.body
}

const getCallback = async (s: TestServer, d: Domain, kind: 'presence' | 'messages'): Promise<any> =>
  (await s.api('GET', `/api/v1/domains/${d.id}/callbacks/${kind}`, undefined, d.apiKey)).body

async function send (s: TestServer, d: Domain, msg: { from_userid: number, to_userid: number, message: string, type?: number }): Promise<any> {
  const r = await s.api('POST', `/api/v1/domains/${d.id}/messages`, { type: 0, ...msg }, d.apiKey)
  assert.equal(r.status, 201, JSON.stringify(r.body))
  return r.body
}

// --- signing in ---

browserTest('a domain key signs in, stays signed in across a reload, and signs out', async (t, open) => {
  const s = await startServer(t, {}, PRIVATE_OK)
  const d = await s.domain()
  const { page, errors } = await open(s.httpUrl)

  await page.getByRole('heading', { name: 'Sign in' }).waitFor()
  await signIn(page, d.apiKey)
  await page.getByRole('heading', { name: `Domain ${d.id} (${d.id})` }).waitFor()
  await page.getByRole('heading', { name: 'Presence callback' }).waitFor()
  await page.getByRole('heading', { name: 'Messages callback' }).waitFor()
  assert.equal(await page.getByRole('heading', { name: 'Domains' }).count(), 0, 'a domain key sees no list of domains')

  await page.reload()
  await page.getByRole('heading', { name: 'Messages callback' }).waitFor()
  assert.equal(await page.getByLabel('API key').count(), 0, 'still signed in after a reload')

  await page.getByRole('button', { name: 'Sign out' }).click()
  await page.getByLabel('API key').waitFor()
  assert.equal(await page.getByRole('heading', { name: 'Messages callback' }).count(), 0)
  await page.reload()
  await page.getByLabel('API key').waitFor()
  assert.equal(await page.getByRole('button', { name: 'Sign out' }).count(), 0, 'signed out stays signed out')
  assertNoScriptErrors(errors)
})

browserTest('a wrong key shows an error and stays on the sign-in form', async (t, open) => {
  const s = await startServer(t, {}, PRIVATE_OK)
  const { page, errors } = await open(s.httpUrl)
  await page.getByLabel('API key').fill('not-a-key-at-all')
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByRole('alert').filter({ hasText: 'This key is not known' }).waitFor()
  assert.equal(await page.getByLabel('API key').isVisible(), true)
  assert.equal(await page.getByRole('button', { name: 'Sign out' }).count(), 0)
  await page.reload()
  await page.getByLabel('API key').waitFor()
  assert.equal(await page.getByRole('button', { name: 'Sign out' }).count(), 0, 'the wrong key was not kept')
  assertNoScriptErrors(errors, [[401, '/api/v1/me']])
})

browserTest('the panel loads with a clean console (nothing missing, not even /favicon.ico)', async (t, open) => {
  const s = await startServer(t, {}, PRIVATE_OK)
  const { page, errors } = await open(s.httpUrl)
  await page.getByLabel('API key').waitFor()
  // The browser asks for /favicon.ico by itself once the page has loaded.
  await page.waitForLoadState('networkidle')
  assert.deepEqual(errors, [], 'the console of a freshly loaded panel is empty')
})

browserTest('each section on a domain\'s page is named by its own heading', async (t, open) => {
  const s = await startServer(t, {}, PRIVATE_OK)
  const d = await s.domain()
  const { page, errors } = await open(s.httpUrl)
  await signIn(page, d.apiKey)
  await page.getByRole('heading', { name: 'Recent messages' }).waitFor()
  const names = await page.getByRole('region').evaluateAll((els) => els.map((el) => {
    const doc = (globalThis as any).document
    return el.getAttribute('aria-labelledby').split(' ').map((id: string) => doc.getElementById(id).textContent).join(' ')
  }))
  const headings = await page.getByRole('region').evaluateAll((els) => els.map((el) => el.querySelector('h2').textContent))
  assert.deepEqual(names, headings,
    'each region\'s name is its own heading (admin/domains.js: "Recent messages" uses id messages-h, the same id as the Messages callback heading)')
  for (const title of ['Presence callback', 'Messages callback', 'Online now', 'Recent messages'] as const) {
    assert.equal(await section(page, title).count(), 1, `one region named "${title}"`)
  }
  assertNoScriptErrors(errors)
})

// --- the operator ---

browserTest('the operator lists domains, creates one, sees its keys once, and opens it', async (t, open) => {
  const s = await startServer(t, {}, PRIVATE_OK)
  const existing = await s.domain()
  const { page, errors } = await open(s.httpUrl)
  await signIn(page, s.operatorKey)

  const domains = page.getByRole('region', { name: 'Domains' })
  await domains.getByRole('row').filter({ hasText: existing.id }).waitFor()

  await page.getByLabel('Domain ID').fill('acme')
  await page.getByLabel('Name', { exact: true }).fill('Acme Ltd')
  await page.getByRole('button', { name: 'Create domain' }).click()
  const keys = page.getByRole('alert').filter({ hasText: 'Domain acme created' })
  await keys.waitFor()
  const apiKey = (await keys.locator('p', { hasText: 'API key:' }).locator('code').innerText()).trim()
  const tokenSecret = (await keys.locator('p', { hasText: 'Token secret:' }).locator('code').innerText()).trim()
  assert.ok(apiKey.length >= 16 && tokenSecret.length >= 16, `keys shown: ${apiKey} / ${tokenSecret}`)
  await domains.getByRole('row').filter({ hasText: 'Acme Ltd' }).waitFor()

  // The shown apiKey works for the API; the shown tokenSecret signs MQTT passwords.
  const me = await s.api('GET', '/api/v1/domains/acme', undefined, apiKey)
  assert.equal(me.status, 200)
  assert.equal(me.body.name, 'Acme Ltd')
  const password = jwt.sign({ sub: '5', aud: 'acme' }, tokenSecret, { algorithm: 'HS256', expiresIn: 60 })
  const client = await mqtt.connectAsync(s.mqttUrl, { username: 'acme/5', password, reconnectPeriod: 0, connectTimeout: 5000 })
  await client.endAsync()

  // Shown once: not after a reload.
  await page.reload()
  await domains.getByRole('row').filter({ hasText: 'Acme Ltd' }).waitFor()
  assert.equal(await page.getByText(apiKey).count(), 0, 'the API key is not shown again')
  assert.equal(await page.getByText('Domain acme created').count(), 0)

  await domains.getByRole('row').filter({ hasText: 'Acme Ltd' }).getByRole('button', { name: 'Open' }).click()
  await page.getByRole('heading', { name: 'Acme Ltd (acme)' }).waitFor()
  await section(page, 'Presence callback').getByLabel('Callback URL').waitFor()
  await section(page, 'Messages callback').getByLabel('Callback URL').waitFor()
  assert.match(await stateText(section(page, 'Messages callback')), /^Off — no URL yet\./, 'off by default')
  await page.getByRole('button', { name: 'All domains' }).click()
  await page.getByRole('heading', { name: 'Domains' }).waitFor()
  assertNoScriptErrors(errors)
})

// --- a callback's settings ---

browserTest('Save with a URL and Enabled ticked turns the callback on, and messages reach the receiver', async (t, open) => {
  const s = await startServer(t, {}, PRIVATE_OK)
  const d = await s.domain()
  const rx = await receiver(t)
  const { page, errors } = await open(s.httpUrl)
  await signIn(page, d.apiKey)

  const cb = section(page, 'Messages callback')
  assert.equal(await cb.getByLabel('Enabled').isChecked(), false, 'off by default')
  await cb.getByLabel('Callback URL').fill(rx.url)
  await cb.getByLabel('Enabled').check()
  await cb.getByRole('button', { name: 'Save' }).click()
  await cb.getByText(/^On\b/).waitFor()
  await page.getByRole('status').filter({ hasText: 'Messages callback saved.' }).waitFor()
  assert.equal((await getCallback(s, d, 'messages')).enabled, true)

  const sent = await send(s, d, { from_userid: 2, to_userid: 3601, message: 'hello receiver' })
  const [req] = await rx.count(1)
  assert.equal(req!.body, JSON.stringify(sent))

  // A URL that is not http(s): the error shows by the field, and nothing changes.
  await cb.getByLabel('Callback URL').fill('ftp://x')
  await cb.getByRole('button', { name: 'Save' }).click()
  const err = cb.getByRole('alert').filter({ hasText: 'http:// or https://' })
  await err.waitFor()
  const url = cb.getByLabel('Callback URL')
  assert.equal(await url.getAttribute('aria-invalid'), 'true')
  const described = await url.evaluate((el) => (globalThis as any).document.getElementById(el.getAttribute('aria-describedby')).textContent)
  assert.match(described, /http:\/\/ or https:\/\//, 'the field is described by its error')
  assert.equal((await getCallback(s, d, 'messages')).url, rx.url, 'the bad URL was not saved')
  assertNoScriptErrors(errors, [[400, '/callbacks/messages']])
})

browserTest('a private address is refused with forbidden_target when private targets are not allowed', async (t, open) => {
  const s = await startServer(t) // no MQCHAT_CALLBACK_ALLOW_PRIVATE
  const d = await s.domain()
  const { page, errors } = await open(s.httpUrl)
  await signIn(page, d.apiKey)
  const cb = section(page, 'Presence callback')
  await cb.getByLabel('Callback URL').fill('http://127.0.0.1:9/hook')
  await cb.getByLabel('Enabled').check()
  await cb.getByRole('button', { name: 'Save' }).click()
  await cb.getByRole('alert').filter({ hasText: '127.0.0.1 is not a public address' }).waitFor()
  assert.equal(await cb.getByLabel('Callback URL').getAttribute('aria-invalid'), 'true')
  const stored = await getCallback(s, d, 'presence')
  assert.equal(stored.enabled, false)
  assert.equal(stored.url, null)
  assert.match(await stateText(cb), /^Off\b/)
  assertNoScriptErrors(errors, [[400, '/callbacks/presence']])
})

browserTest('Enabled ticked before typing the URL is still ticked when Save is clicked after a refresh', async (t, open) => {
  const s = await startServer(t, {}, PRIVATE_OK)
  const d = await s.domain()
  const rx = await receiver(t)
  const { page, errors } = await open(s.httpUrl)
  await signIn(page, d.apiKey)
  const cb = section(page, 'Presence callback')
  await cb.getByLabel('Enabled').check()
  await cb.getByLabel('Callback URL').click()
  await page.keyboard.type(rx.url)
  // The panel's own refresh comes while the person is still typing.
  // (refresh() sets the box from the server's state, then asks for the logs.)
  await page.waitForRequest((r) => r.url().includes('/callbacks/presence/logs'), { timeout: ONE_REFRESH_MS })
  assert.equal(await cb.getByLabel('Enabled').isChecked(), true,
    'the box the person ticked is still ticked after the refresh (admin/callback-form.js refresh() overwrites it whenever focus is elsewhere)')
  await cb.getByRole('button', { name: 'Save' }).click()
  await cb.getByText(/^On\b/).waitFor({ timeout: 2000 })
  assertNoScriptErrors(errors)
})

browserTest('Send test shows the status, the duration and the body the receiver sent', async (t, open) => {
  const s = await startServer(t, {}, PRIVATE_OK)
  const d = await s.domain()
  const rx = await receiver(t)
  rx.respond = answer(200, 'thanks from the receiver')
  await setCallback(s, d, 'presence', { url: rx.url })
  const { page, errors } = await open(s.httpUrl)
  const dialogs = watchDialogs(page)
  await signIn(page, d.apiKey)
  const cb = section(page, 'Presence callback')

  await cb.getByRole('button', { name: 'Send test' }).click()
  const out = cb.getByRole('status').filter({ hasText: 'thanks from the receiver' })
  await out.waitFor()
  assert.match(await out.innerText(), /Delivered · status 200 · \d+ ms/)
  const [req] = await rx.count(1)
  assert.equal(req!.headers['mqchat-test'], '1')
  assert.equal(req!.json.userid, 1)

  rx.respond = answer(500, 'receiver is down')
  await cb.getByRole('button', { name: 'Send test' }).click()
  const failed = cb.getByRole('status').filter({ hasText: 'receiver is down' })
  await failed.waitFor()
  assert.match(await failed.innerText(), /Failed · status 500 · \d+ ms · the receiver answered 500/)
  assert.equal((await getCallback(s, d, 'presence')).disabledReason, null, 'a test changes no state')

  // A receiver that answers HTML: shown as the text it is.
  rx.respond = answer(200, HTML_BODY, { 'content-type': 'text/html' })
  await cb.getByRole('button', { name: 'Send test' }).click()
  await cb.getByText(HTML_BODY, { exact: true }).waitFor()
  assert.equal(await cb.getByText('bold', { exact: true }).count(), 0, 'no <b> element made from the body')
  assert.equal(await page.locator('img').count(), 0, 'no <img> element made from the body')
  assert.deepEqual(dialogs, [])
  assertNoScriptErrors(errors)
})

browserTest('a 401 switches the callback off and the panel says why and when; Enabled + Save turns it on again', async (t, open) => {
  const s = await startServer(t, {}, PRIVATE_OK)
  const d = await s.domain()
  const rx = await receiver(t)
  await setCallback(s, d, 'messages', { url: rx.url, enabled: true })
  const { page, errors } = await open(s.httpUrl)
  await signIn(page, d.apiKey)
  const cb = section(page, 'Messages callback')
  await cb.getByText(/^On\b/).waitFor()
  assert.equal(await cb.getByLabel('Enabled').isChecked(), true)

  rx.respond = answer(401, 'nope')
  await send(s, d, { from_userid: 2, to_userid: 3, message: 'refused' })
  await rx.count(1)
  const off = await waitFor(async () => { const c = await getCallback(s, d, 'messages'); return c.enabled ? null : c }, 'the server switches the callback off')

  // No reload: the panel's own refresh shows it.
  await cb.getByText(/switched off by the server/).waitFor({ timeout: ONE_REFRESH_MS })
  const state = await stateText(cb)
  assert.match(state, /^Off\b/)
  assert.ok(state.includes('the receiver answered 401'), `the reason in words: ${state}`)
  assert.ok(state.includes(await localTime(page, off.disabledAt)), `the time: ${state}`)
  assert.equal(await cb.getByLabel('Enabled').isChecked(), false, 'the box shows it is off')

  rx.respond = answer(200, 'ok')
  await cb.getByLabel('Enabled').check()
  await cb.getByRole('button', { name: 'Save' }).click()
  await cb.getByText(/^On\b/).waitFor()
  assert.equal((await getCallback(s, d, 'messages')).enabled, true)
  await send(s, d, { from_userid: 2, to_userid: 3, message: 'flows again' })
  const reqs = await rx.count(2)
  assert.equal(reqs[1]!.json.message.message, 'flows again')
  assertNoScriptErrors(errors)
})

// --- logs ---

browserTest('logs: newest first, filtered by result, a row opens its request and response', async (t, open) => {
  const s = await startServer(t, {}, PRIVATE_OK)
  const d = await s.domain()
  const rx = await receiver(t)
  // One answer per message, so the rows can be told apart: 200, 201, then 418 with an HTML body
  // (another 4xx: failed, not retried, the callback stays on).
  rx.respond = (req, res) => {
    const text = req.json?.message?.message
    if (text === 'first') return answer(200, 'one')(req, res)
    if (text === 'second') return answer(201, 'two')(req, res)
    return answer(418, HTML_BODY, { 'content-type': 'text/html' })(req, res)
  }
  await setCallback(s, d, 'messages', { url: rx.url, enabled: true })
  for (const message of ['first', 'second', 'third']) await send(s, d, { from_userid: 4, to_userid: 5, message })
  await rx.count(3)
  await waitFor(async () => (await s.api('GET', `/api/v1/domains/${d.id}/callbacks/messages/logs`, undefined, d.apiKey)).body.items.length === 3, 'three log rows')

  const { page, errors } = await open(s.httpUrl)
  const dialogs = watchDialogs(page)
  await signIn(page, d.apiKey)
  const cb = section(page, 'Messages callback')
  const rows = logRows(cb)
  await rows.nth(2).waitFor()
  const statuses = async () => Promise.all((await rows.all()).map(async (r) => (await cellTexts(r))[2]))
  assert.deepEqual(await statuses(), ['418', '201', '200'], 'newest first')
  assert.deepEqual((await cellTexts(rows.first())).slice(1, 4), ['failed', '418', '#1'])

  await cb.getByLabel('Show').selectOption('failed')
  await waitFor(async () => (await statuses()).join() === '418', 'only the failed row')
  await cb.getByLabel('Show').selectOption('ok')
  await waitFor(async () => (await statuses()).join() === '201,200', 'only the ok rows')
  await cb.getByLabel('Show').selectOption('all')
  await waitFor(async () => (await statuses()).join() === '418,201,200', 'all rows')

  // Click the failed row: its detail opens.
  await rows.first().getByRole('cell').first().click()
  await cb.getByRole('heading', { name: 'Request headers' }).waitFor()
  const third = rx.requests.find((r) => r.json.message.message === 'third')!
  const detail = cb.getByRole('row').filter({ has: page.getByRole('heading', { name: 'Request body' }) })
  const text = await detail.innerText()
  assert.ok(text.includes(`webhook-id: ${third.headers['webhook-id']}`), `request headers: ${text}`)
  assert.ok(text.includes(`webhook-signature: ${third.headers['webhook-signature']}`), 'the signature header')
  assert.ok(text.includes(third.body), 'the request body')
  await detail.getByRole('heading', { name: 'Response 418' }).waitFor()
  assert.ok(text.includes('Error: the receiver answered 418'), `the error: ${text}`)
  await detail.getByText(HTML_BODY, { exact: true }).waitFor()
  assert.equal(await page.locator('img').count(), 0, 'the HTML response body made no <img>')
  assert.equal(await cb.locator('b').count(), 0, 'nor a <b>')
  assert.equal(await rows.first().getByRole('button', { name: 'Hide' }).getAttribute('aria-expanded'), 'true')

  // Clicking again closes it.
  await rows.first().getByRole('cell').first().click()
  await waitFor(async () => await cb.getByRole('heading', { name: 'Request headers' }).count() === 0, 'the detail closes')
  assert.deepEqual(dialogs, [])
  assertNoScriptErrors(errors)
})

browserTest('a keyboard user opens a log row\'s details and keeps the focus on its button', async (t, open) => {
  const s = await startServer(t, {}, PRIVATE_OK)
  const d = await s.domain()
  const rx = await receiver(t)
  await setCallback(s, d, 'messages', { url: rx.url, enabled: true })
  await send(s, d, { from_userid: 4, to_userid: 5, message: 'logged' })
  await rx.count(1)
  await waitFor(async () => (await s.api('GET', `/api/v1/domains/${d.id}/callbacks/messages/logs`, undefined, d.apiKey)).body.items.length === 1, 'a log row')

  const { page, errors } = await open(s.httpUrl)
  await signIn(page, d.apiKey)
  const cb = section(page, 'Messages callback')
  const details = logRows(cb).first().getByRole('button', { name: 'Details' })
  await details.focus()
  await page.keyboard.press('Enter')
  await cb.getByRole('heading', { name: 'Request headers' }).waitFor()
  const focused = await page.evaluate('document.activeElement === document.body ? "<body>" : document.activeElement.textContent')
  assert.equal(focused, 'Hide',
    'after Enter on "Details" the focus stays on that row\'s button (admin/logs.js toggle() rebuilds every row, so focus falls to <body>)')
  // The panel's own refresh redraws the logs: the focus stays where it was. Wait for that
  // redraw itself (the rows of the tbody replaced), and fail if none came: without it the
  // check below would prove nothing.
  const redrawn = await cb.getByRole('table').locator('tbody').evaluate((tb, ms) => new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => { o.disconnect(); resolve(false) }, ms)
    const o = new (globalThis as any).MutationObserver(() => { o.disconnect(); clearTimeout(timer); setTimeout(() => resolve(true), 0) })
    o.observe(tb, { childList: true })
  }), ONE_REFRESH_MS)
  assert.equal(redrawn, true, `the panel's own refresh redrew the log rows within ${ONE_REFRESH_MS} ms`)
  assert.equal(await page.evaluate('document.activeElement === document.body ? "<body>" : document.activeElement.textContent'), 'Hide',
    'the focus survives the 5 s refresh (admin/logs.js load() rebuilds every row)')
  assertNoScriptErrors(errors)
})

// --- replay ---

browserTest('Replay since a chosen time queues the events again, and the receiver gets them with the same webhook-id', async (t, open) => {
  const s = await startServer(t, {}, PRIVATE_OK)
  const d = await s.domain()
  const rx = await receiver(t)
  await send(s, d, { from_userid: 6, to_userid: 7, message: 'while off' }) // kept, not sent
  await setCallback(s, d, 'messages', { url: rx.url, enabled: true })
  await send(s, d, { from_userid: 6, to_userid: 7, message: 'one' })
  await send(s, d, { from_userid: 6, to_userid: 7, message: 'two' })
  const first = await rx.count(2)
  const firstIds = first.map((r) => r.headers['webhook-id'])

  const { page, errors } = await open(s.httpUrl)
  await signIn(page, d.apiKey)
  const cb = section(page, 'Messages callback')
  // Two minutes ago, in the browser's own time zone (a datetime-local field).
  const since = await page.evaluate(`(() => {
    const d = new Date(Date.now() - 120000)
    const p = (n) => String(n).padStart(2, '0')
    return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) + 'T' + p(d.getHours()) + ':' + p(d.getMinutes())
  })()`) as string
  await cb.getByLabel('Send again everything since').fill(since)
  await cb.getByRole('button', { name: 'Replay' }).click()
  await cb.getByRole('status').filter({ hasText: '3 events queued to be sent again.' }).waitFor()

  const all = await rx.count(5)
  const again = all.slice(2)
  assert.deepEqual(again.map((r) => r.json.message.message), ['while off', 'one', 'two'], 'in order, the one from while it was off too')
  assert.deepEqual(again.slice(1).map((r) => r.headers['webhook-id']), firstIds, 'the same webhook-id as the first time')
  assertNoScriptErrors(errors)
})

// --- signing secret ---

browserTest('the signing secret is hidden until Reveal, equals the API\'s, and Rotate changes it after a confirm', async (t, open) => {
  const s = await startServer(t, {}, PRIVATE_OK)
  const d = await s.domain()
  const before = (await getCallback(s, d, 'presence')).signingSecret as string
  assert.match(before, /^whsec_/)
  const { page, errors } = await open(s.httpUrl)
  await signIn(page, d.apiKey)
  const cb = section(page, 'Presence callback')
  await cb.getByText('••••••••').waitFor()
  assert.equal(await page.getByText(before).count(), 0, 'hidden at first')

  await cb.getByRole('button', { name: 'Reveal' }).click()
  await cb.getByText(before, { exact: true }).waitFor()

  // Cancelling the confirm changes nothing.
  page.once('dialog', (dlg) => { void dlg.dismiss() })
  await cb.getByRole('button', { name: 'Rotate' }).click()
  await cb.getByText(before, { exact: true }).waitFor()
  assert.equal((await getCallback(s, d, 'presence')).signingSecret, before)

  page.once('dialog', (dlg) => { void dlg.accept() })
  await cb.getByRole('button', { name: 'Rotate' }).click()
  const after = await waitFor(async () => {
    const now = (await getCallback(s, d, 'presence')).signingSecret as string
    return now !== before ? now : null
  }, 'a new signing secret')
  await cb.getByText(after, { exact: true }).waitFor()
  assert.equal(await page.getByText(before).count(), 0, 'the old secret is no longer shown')
  await cb.getByRole('button', { name: 'Hide' }).click()
  await cb.getByText('••••••••').waitFor()
  assertNoScriptErrors(errors)
})

// --- online now and recent messages ---

browserTest('Online now lists users connected over MQTT with away and busy, and drops one after it leaves', async (t, open) => {
  const s = await startServer(t, {}, { ...PRIVATE_OK, MQCHAT_PRESENCE_GRACE_MS: '100' })
  const d = await s.domain()
  const away = await s.connect(d, 7)
  const busy = await s.connect(d, 8)
  const leaving = await s.connect(d, 9)
  await away.publishAsync(`chat/${d.id}/7/status`, JSON.stringify({ status: 'away' }), { qos: 1 })
  await busy.publishAsync(`chat/${d.id}/8/status`, JSON.stringify({ status: 'busy' }), { qos: 1 })
  await waitFor(async () => (await s.api('GET', `/api/v1/domains/${d.id}/presence?status=busy`, undefined, d.apiKey)).body.users.length === 1 &&
    (await s.api('GET', `/api/v1/domains/${d.id}/presence?status=away`, undefined, d.apiKey)).body.users.length === 1, 'away and busy set')

  const { page, errors } = await open(s.httpUrl)
  await signIn(page, d.apiKey)
  const online = section(page, 'Online now')
  const items = async () => (await online.getByRole('listitem').allInnerTexts()).map((x) => x.trim())
  await waitFor(async () => (await items()).length === 3, 'three users online')
  assert.deepEqual(await items(), ['7 (away)', '8 (busy)', '9'])

  // 9 leaves (past the grace time), 10 arrives: the panel's own refresh shows both.
  await leaving.endAsync()
  await s.connect(d, 10)
  await waitFor(async () => (await items()).join() === '7 (away),8 (busy),10', 'the list after the refresh', ONE_REFRESH_MS)
  assertNoScriptErrors(errors)
})

browserTest('recent messages show from, to, type in words, text and time, and HTML in them stays text', async (t, open) => {
  const s = await startServer(t, {}, PRIVATE_OK)
  const d = await s.domain()
  const hello = await send(s, d, { from_userid: 2, to_userid: 3601, message: 'hello there' })
  await send(s, d, { from_userid: 3601, to_userid: 2, message: 'a sticker', type: 1 })
  await send(s, d, { from_userid: 2, to_userid: 3601, message: '<img src=x onerror=alert(1)>' })

  const { page, errors } = await open(s.httpUrl)
  const dialogs = watchDialogs(page)
  await signIn(page, d.apiKey)
  const recent = recentMessages(page)
  const row = (text: string) => recent.getByRole('row').filter({ has: page.getByRole('cell', { name: text, exact: true }) })
  await row('hello there').waitFor()
  assert.deepEqual(await cellTexts(row('hello there')), ['2', '3601', 'text', 'hello there', await localTime(page, hello.message.timestamp)])
  assert.deepEqual((await cellTexts(row('a sticker'))).slice(0, 4), ['3601', '2', 'sticker', 'a sticker'])
  await recent.getByText('<img src=x onerror=alert(1)>', { exact: true }).waitFor()

  // One more while the page is open: the panel's own refresh shows it.
  const script = '<script>alert(3)</script>'
  await send(s, d, { from_userid: 5, to_userid: 6, message: script, type: 5 })
  await recent.getByText(script, { exact: true }).waitFor({ timeout: ONE_REFRESH_MS })
  assert.deepEqual((await cellTexts(row(script))).slice(0, 4), ['5', '6', 'audio/video notification', script])
  const texts = (await recent.getByRole('row').allInnerTexts()).slice(1).map((r) => r.split('\t')[3])
  assert.deepEqual(texts, [script, '<img src=x onerror=alert(1)>', 'a sticker', 'hello there'], 'newest first')

  assert.equal(await recent.locator('img').count(), 0, 'no <img> element in the messages table')
  assert.equal(await recent.locator('script').count(), 0, 'no <script> element in the messages table')
  assert.deepEqual(dialogs, [], 'no alert fired')
  assertNoScriptErrors(errors)
})

browserTest('recent messages show a picture\'s thumbnail and a record\'s player, loaded from the server itself', async (t, open) => {
  const { png, m4a } = await import('./helpers/media.ts')
  const s = await startServer(t, {}, PRIVATE_OK)
  const d = await s.domain()
  const up = async (body: Buffer) => {
    const r = await fetch(`${s.httpUrl}/api/v1/domains/${d.id}/files`, { method: 'POST', headers: { authorization: `Bearer ${d.apiKey}` }, body })
    assert.equal(r.status, 201)
    return await r.json() as { url: string, id: string }
  }
  const picture = await up(await png(640, 480, '#ff0000'))
  const record = await up(m4a(1500))
  await send(s, d, { from_userid: 2, to_userid: 3, type: 2, message: picture.url })
  await send(s, d, { from_userid: 3, to_userid: 2, type: 3, message: record.url })

  const { page, errors } = await open(s.httpUrl)
  await signIn(page, d.apiKey)
  const recent = recentMessages(page)
  const img = recent.getByRole('img', { name: 'picture from 2' })
  await img.waitFor()
  assert.equal(await img.getAttribute('src'), `/files/${d.id}/${picture.id}/thumbnail`)
  await waitFor(() => img.evaluate((el) => { const i = el as unknown as { complete: boolean, naturalWidth: number }; return i.complete && i.naturalWidth }), 'the thumbnail loaded')
  assert.equal(await img.evaluate((el) => (el as unknown as { naturalWidth: number }).naturalWidth), 320, 'the thumbnail, not the picture')
  const player = recent.locator('audio')
  assert.equal(await player.getAttribute('src'), `/files/${d.id}/${record.id}`)
  assert.equal(await player.getAttribute('aria-label'), 'voice record from 3')
  assertNoScriptErrors(errors)
})

// --- keyboard and phone ---

browserTest('by keyboard: Tab to the API key field, type the key, Enter signs in', async (t, open) => {
  const s = await startServer(t, {}, PRIVATE_OK)
  const d = await s.domain()
  const { page, errors } = await open(s.httpUrl)
  await page.getByLabel('API key').waitFor()
  await page.evaluate('document.activeElement && document.activeElement.blur()')
  const keyFocused = () => page.getByLabel('API key').evaluate((el) => el === (globalThis as any).document.activeElement)
  for (let i = 0; i < 5 && !await keyFocused(); i++) await page.keyboard.press('Tab')
  assert.equal(await keyFocused(), true, 'the API key field is reached with Tab')
  await page.keyboard.type(d.apiKey)
  await page.keyboard.press('Enter')
  await section(page, 'Presence callback').waitFor()
  assertNoScriptErrors(errors)
})

browserTest('at phone width (390×844) the page does not scroll sideways and the buttons are on screen', async (t, open) => {
  const s = await startServer(t, {}, PRIVATE_OK)
  const d = await s.domain()
  const rx = await receiver(t)
  await setCallback(s, d, 'messages', { url: `${rx.url}/with/a/rather/long/path/to/see/how/it/wraps?and=a&query=string`, enabled: true })
  await send(s, d, { from_userid: 123456789, to_userid: 987654321, message: 'a longer message to fill the table on a small screen' })
  await rx.count(1)
  await waitFor(async () => (await s.api('GET', `/api/v1/domains/${d.id}/callbacks/messages/logs`, undefined, d.apiKey)).body.items.length === 1, 'a log row')
  const width = 390
  const { page, errors } = await open(s.httpUrl, { width, height: 844 })

  const noSideScroll = async (where: string) => {
    const [scroll, client] = await page.evaluate('[document.documentElement.scrollWidth, document.documentElement.clientWidth]') as [number, number]
    assert.ok(scroll <= client, `${where}: the page scrolls sideways (scrollWidth ${scroll} > clientWidth ${client})`)
  }
  const onScreen = async (button: Locator, what: string) => {
    assert.equal(await button.isVisible(), true, `${what} is visible`)
    const box = (await button.boundingBox())!
    assert.ok(box.x >= 0 && box.x + box.width <= width, `${what} is within the screen's width: ${JSON.stringify(box)}`)
  }

  await page.getByLabel('API key').waitFor()
  await noSideScroll('sign-in')
  await onScreen(page.getByRole('button', { name: 'Sign in' }), 'Sign in')
  await signIn(page, d.apiKey)
  const cb = section(page, 'Messages callback')
  await logRows(cb).first().waitFor()
  await recentMessages(page).getByText('a longer message').waitFor()
  await noSideScroll('domain page')
  await onScreen(page.getByRole('button', { name: 'Sign out' }), 'Sign out')
  for (const title of ['Presence callback', 'Messages callback'] as const) {
    for (const name of ['Save', 'Send test', 'Replay', 'Reveal', 'Rotate']) {
      const b = section(page, title).getByRole('button', { name, exact: true })
      await b.scrollIntoViewIfNeeded()
      await onScreen(b, `${title}: ${name}`)
    }
  }
  // A log row's own button is on screen too, without scrolling the table sideways first.
  await logRows(cb).first().scrollIntoViewIfNeeded()
  await onScreen(logRows(cb).first().getByRole('button', { name: 'Details' }), 'a log row\'s Details button')
  // With the secret shown and a log row open (long, unbroken text).
  await cb.getByRole('button', { name: 'Reveal' }).click()
  await logRows(cb).first().getByRole('button', { name: 'Details' }).click()
  await cb.getByRole('heading', { name: 'Request headers' }).waitFor()
  await noSideScroll('domain page with the secret shown and a log row open')
  assertNoScriptErrors(errors)
})

browserTest('a domain\'s settings: name, retention, allowed origins and who users may reach are saved; a bad origin is refused and shown', async (t, open) => {
  const s = await startServer(t, {}, PRIVATE_OK)
  const d = await s.domain()
  const { page, errors } = await open(s.httpUrl)
  await signIn(page, d.apiKey)
  const settings = page.getByRole('region', { name: 'Settings', exact: true })
  await settings.getByLabel('Retention (days)').fill('30')
  await settings.getByLabel('Allowed origins').fill('https://www.acme.test\nhttp://localhost:3000')
  assert.equal(await settings.getByLabel('Users may reach').inputValue(), 'everyone')
  await settings.getByLabel('Users may reach').selectOption({ label: 'Their friends only' })
  await settings.getByRole('button', { name: 'Save settings' }).click()
  await settings.getByText('Saved.').waitFor()
  const got = (await s.api('GET', `/api/v1/domains/${d.id}`, undefined, d.apiKey)).body
  assert.deepEqual([got.retentionDays, got.allowedOrigins, got.contacts], [30, ['https://www.acme.test', 'http://localhost:3000'], 'friends'])
  // the panel is mqchat's own page: still allowed with the list set
  await settings.getByLabel('Allowed origins').fill('https://www.acme.test/path')
  await settings.getByRole('button', { name: 'Save settings' }).click()
  await settings.getByRole('alert').filter({ hasText: /origin only/ }).waitFor()
  assert.deepEqual((await s.api('GET', `/api/v1/domains/${d.id}`, undefined, d.apiKey)).body.allowedOrigins, ['https://www.acme.test', 'http://localhost:3000'])
  assertNoScriptErrors(errors, [[400, `/api/v1/domains/${d.id}`]])
})

browserTest('Online now shows a user\'s name beside its presence', async (t, open) => {
  const s = await startServer(t, {}, PRIVATE_OK)
  const d = await s.domain()
  await s.api('PUT', `/api/v1/domains/${d.id}/users/7`, { name: 'Ada <b>L.</b>', link: 'https://site.test/u/7' }, d.apiKey)
  await s.connect(d, 7)
  await s.connect(d, 8)
  const { page, errors } = await open(s.httpUrl)
  await signIn(page, d.apiKey)
  const online = section(page, 'Online now')
  const items = async () => (await online.getByRole('listitem').allInnerTexts()).map((x) => x.trim())
  await waitFor(async () => (await items()).length === 2, 'two users online')
  assert.deepEqual(await items(), ['7 Ada <b>L.</b>', '8'])
  assert.equal(await online.getByRole('link', { name: 'Ada <b>L.</b>' }).getAttribute('href'), 'https://site.test/u/7')
  assertNoScriptErrors(errors)
})
