// The browser client of SPEC §9 (/client.js) on its own, as a site that draws its own chat
// uses it, in Debian's chromium, through a TCP proxy of the test's own between the page and
// mqchat: the proxy takes the page offline, or loses one exact answer on its way back.
import assert from 'node:assert/strict'
import { after, type TestContext } from 'node:test'
import type { Page } from 'playwright-core'
import { browserTest, closeBrowser, type Open } from './helpers/browser.ts'
import { hostPage } from './helpers/host-page.ts'
import { expectStatus } from './helpers/rest.ts'
import { startServer, type TestServer } from './helpers/server.ts'
import { TcpProxy } from './helpers/tcp-proxy.ts'
import { waitFor } from './helpers/wait.ts'

after(() => closeBrowser())

interface Setup { server: TestServer, domain: { id: string, apiKey: string }, proxy: TcpProxy, page: Page, connect: () => Promise<void> }

/** A site's page (another origin) with `window.chat` connected as user 2 through the proxy; `window.seen` logs what it reports. */
async function setUp (t: TestContext, open: Open): Promise<Setup> {
  const server = await startServer(t)
  const domain = await server.domain()
  const proxy = await new TcpProxy('127.0.0.1', server.app.httpPort).start(t)
  const base = `http://127.0.0.1:${proxy.port}`
  const site = await hostPage(t, base, (uid) => server.token(domain, uid))
  const token = await server.token(domain, 2)
  const { page } = await open(`${site.origin}/blank`)
  page.setDefaultTimeout(20_000)
  // (listeners set at once: connect() resolves after what an earlier page left is on its way)
  const connect = (): Promise<void> => page.evaluate(`(async () => {
    const { connect } = await import(${JSON.stringify(`${base}/client.js`)})
    window.seen = []
    const getToken = () => ${JSON.stringify(token)}
    window.chat = await connect({ url: ${JSON.stringify(base)}, domain: ${JSON.stringify(domain.id)}, getToken })
    chat.on('message', (m) => seen.push(m.message.message))
    chat.on('connection', (s) => seen.push('connection: ' + s))
  })()`)
  await connect()
  return { server, domain, proxy, page, connect }
}

const seen = (page: Page): Promise<string[]> => page.evaluate('window.seen')
const state = (page: Page): Promise<string> => page.evaluate('window.chat.state')
const history = async (s: Setup): Promise<string[]> =>
  (await expectStatus('history', s.server.api('GET', `/api/v1/domains/${s.domain.id}/messages?userid=2&peer=3&limit=50`, undefined, s.domain.apiKey), 200))
    .messages.map((m: any) => m.message.message)

browserTest('a new user\'s page that was offline gets, once back, the messages sent to it meanwhile', async (t, open) => {
  const s = await setUp(t, open)
  // A user with no message yet: nothing for the client to count from but the server's word.
  s.proxy.cut()
  await waitFor(async () => await state(s.page) === 'offline', 'the page offline')
  await expectStatus('send', s.server.api('POST', `/api/v1/domains/${s.domain.id}/messages`, { from_userid: 3, to_userid: 2, message: 'while you were away', type: 0 }, s.domain.apiKey), 201)
  s.proxy.restore()
  await waitFor(async () => (await seen(s.page)).includes('while you were away'), 'the message reported on return', 20_000)
  assert.deepEqual((await seen(s.page)).filter((x) => !x.startsWith('connection')), ['while you were away'])
})

browserTest('a send whose ack is lost with the connection is stored once, and its promise gets the stored message', async (t, open) => {
  const s = await setUp(t, open)
  // The server answers a send only once it is stored: that answer is lost on its way back,
  // and the page keeps trying to reconnect until it is let through.
  s.proxy.trap((chunk, direction) => direction === 'down' && chunk.includes('"message":"first words"'))
  // (not awaited here: it settles only once the page is let back)
  await s.page.evaluate(`window.sent = chat.send(3, 'first words').then((e) => e.message.id, (e) => 'error: ' + e.code); undefined`)
  await waitFor(async () => await state(s.page) === 'offline', 'the connection lost with the ack')
  assert.deepEqual(await history(s), ['first words'], 'stored before the ack was lost')
  s.proxy.restore()
  const id = await s.page.evaluate(`Promise.race([window.sent, new Promise((resolve) => setTimeout(() => resolve('never settled'), 20000))])`)
  assert.equal(typeof id, 'number', `the send settled with the stored message: ${String(id)}`)
  await s.page.evaluate(`chat.send(3, 'second words')`)
  assert.deepEqual(await history(s), ['second words', 'first words'], 'each stored once')
})

browserTest('a read marker set while offline is stored once the page is back', async (t, open) => {
  const s = await setUp(t, open)
  const sent = await expectStatus('send', s.server.api('POST', `/api/v1/domains/${s.domain.id}/messages`, { from_userid: 3, to_userid: 2, message: 'read me', type: 0 }, s.domain.apiKey), 201)
  await waitFor(async () => (await seen(s.page)).includes('read me'), 'the message arrived')
  s.proxy.cut()
  await waitFor(async () => await state(s.page) === 'offline', 'the page offline')
  await s.page.evaluate(`chat.read(3, ${sent.message.id})`)
  s.proxy.restore()
  const readUpTo = async (): Promise<number> => (await expectStatus('conversations', s.server.api('GET', `/api/v1/domains/${s.domain.id}/users/2/conversations`, undefined, s.domain.apiKey), 200)).conversations[0].readUpTo
  await waitFor(async () => await readUpTo() === sent.message.id, 'the read marker stored', 20_000)
})

browserTest('close() settles every promise: a send waiting offline, and one asked for after', async (t, open) => {
  const s = await setUp(t, open)
  s.proxy.cut()
  await waitFor(async () => await state(s.page) === 'offline', 'the page offline')
  const results = await s.page.evaluate(`(async () => {
    const waiting = chat.send(3, 'never sent').catch((e) => e.code)
    chat.close()
    return [await waiting, await chat.send(3, 'too late').catch((e) => e.code)]
  })()`)
  assert.deepEqual(results, ['closed', 'closed'])
  s.proxy.restore()
  assert.deepEqual(await history(s), [], 'nothing stored')
})

browserTest('a message written offline survives a reload of the page, and goes out once when the server is back', async (t, open) => {
  const s = await setUp(t, open)
  s.proxy.cut()
  await waitFor(async () => await state(s.page) === 'offline', 'the page offline')
  await s.page.evaluate(`chat.send(3, 'written before the reload'); undefined`)
  await s.page.reload()
  s.proxy.restore()
  await s.connect()
  await waitFor(async () => (await history(s)).includes('written before the reload'), 'stored after the reload', 20_000)
  await waitFor(async () => (await seen(s.page)).includes('written before the reload'), 'reported as a message once stored')
  await s.page.evaluate(`chat.send(3, 'after')`)
  assert.deepEqual(await history(s), ['after', 'written before the reload'], 'stored once')
})

browserTest('the user\'s own messages sent elsewhere come live: one the site sent for it over REST, and one from its other tab', async (t, open) => {
  const s = await setUp(t, open)
  await expectStatus('send', s.server.api('POST', `/api/v1/domains/${s.domain.id}/messages`, { from_userid: 2, to_userid: 3, message: 'sent by the site', type: 0 }, s.domain.apiKey), 201)
  await waitFor(async () => (await seen(s.page)).includes('sent by the site'), 'the site\'s send, reported live')
  // another tab of user 2 (an MQTT client of its own) sends: its ack comes here too
  const tab = await s.server.connect(s.domain, 2)
  await tab.subscribeAsync(`chat/${s.domain.id}/2/ack`, { qos: 1 })
  await tab.publishAsync(`chat/${s.domain.id}/2/send`, JSON.stringify({ to_userid: 3, message: 'from the other tab', type: 0, cid: 'tab' }), { qos: 1 })
  await waitFor(async () => (await seen(s.page)).includes('from the other tab'), 'the other tab\'s send, reported live')
  // a send of this page is reported by its promise, not as a message
  await s.page.evaluate('window.chat.send(3, "from this page")')
  assert.deepEqual((await seen(s.page)).filter((x) => !x.startsWith('connection')), ['sent by the site', 'from the other tab'])
  assert.equal(await state(s.page), 'online', 'no reconnect was needed')
})
