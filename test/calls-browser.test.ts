// Calls in the browser (SPEC §10.2): two chromium pages with fake cameras and microphones call
// each other over loopback, through /client.js alone and through the widget, see the remote
// video play, and hang up; the type 5 records are right. Signals and refusals as mqtt.js sees
// them are test/calls.test.ts.
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { test, type TestContext } from 'node:test'
import type { Browser, Page } from 'playwright-core'
import { mediaBrowser, screenshot } from './helpers/browser.ts'
import { hostPage, type HostPage } from './helpers/host-page.ts'
import { expectStatus } from './helpers/rest.ts'
import { startServer, type TestServer } from './helpers/server.ts'
import { waitFor } from './helpers/wait.ts'

type Domain = { id: string, apiKey: string }
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js')

/** axe-core's serious and critical findings in the widget of `p`. */
async function axe (p: Page): Promise<string[]> {
  if (!await p.evaluate('typeof window.axe !== "undefined"')) await p.addScriptTag({ path: AXE })
  return await p.evaluate(`axe.run({ include: [['[data-mqchat]']] }, { resultTypes: ['violations'] }).then((r) =>
    r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => v.id + ' (' + v.impact + '): ' + v.nodes.map((n) => n.target.join(' ')).join(', ')))`) as string[]
}

async function setUp (t: TestContext, env: Record<string, string> = {}): Promise<{ server: TestServer, domain: Domain, site: HostPage, media: Browser }> {
  const media = await mediaBrowser(t)
  const server = await startServer(t, {}, env)
  const domain = await server.domain()
  for (const [id, name] of [[2, 'Ada'], [3, 'Bob']] as const) {
    await expectStatus('profile', server.api('PUT', `/api/v1/domains/${domain.id}/users/${id}`, { name }, domain.apiKey), 200)
  }
  const site = await hostPage(t, server.httpUrl, (uid) => server.token(domain, uid))
  return { server, domain, site, media }
}

async function page (t: TestContext, media: Browser, url: string, viewport = { width: 1100, height: 800 }): Promise<Page> {
  const context = await media.newContext({ viewport })
  t.after(() => context.close().catch(() => {}))
  const p = await context.newPage()
  // generous: in CI the browser shares two cores with the other suites
  p.setDefaultTimeout(30_000)
  const errors: string[] = []
  p.on('pageerror', (e) => errors.push(e.message))
  ;(p as unknown as { errors: string[] }).errors = errors
  await p.goto(url)
  return p
}

/** The type 5 records between Ada (2) and Bob (3), oldest first. */
async function records (s: TestServer, d: Domain): Promise<any[]> {
  const r = await s.api('GET', `/api/v1/domains/${d.id}/messages?userid=2&peer=3`, undefined, d.apiKey)
  return (r.body.messages as any[]).filter((m) => m.message.type === 5).reverse()
}

test('client.js: a video call on loopback, the remote track live with frames on both sides, then hung up', async (t) => {
  const { server, domain, site, media } = await setUp(t)
  const connectAs = async (userid: number): Promise<Page> => {
    const p = await page(t, media, `${site.origin}/blank`)
    const token = await server.token(domain, userid)
    await p.evaluate(`(async () => {
      const { connect } = await import(${JSON.stringify(`${server.httpUrl}/client.js`)})
      window.chat = await connect({ url: ${JSON.stringify(server.httpUrl)}, domain: ${JSON.stringify(domain.id)}, getToken: () => ${JSON.stringify(token)} })
      window.states = []
      window.watch = (call) => {
        window.theCall = call
        call.on('state', (s) => states.push(s))
        call.on('track', ({ stream }) => { window.remote = stream })
      }
      chat.on('call', (call) => { states.push('incoming ' + call.peer + ' ' + call.video); watch(call) })
    })()`)
    return p
  }
  const ada = await connectAs(2)
  const bob = await connectAs(3)
  try {
    await ada.evaluate('watch(chat.call(3, { video: true }))')
    await waitFor(() => bob.evaluate('states.includes("incoming 2 true")'), 'Bob\'s page rings', 20_000)
    await bob.evaluate('theCall.accept()')
    for (const p of [ada, bob]) await waitFor(() => p.evaluate('states.includes("active")'), 'the call active', 30_000)
    // What each side shows: the peer's video, playing, with frames of the fake camera.
    const plays = `(async () => {
      const v = document.createElement('video'); v.muted = true; v.autoplay = true; v.playsInline = true
      document.body.append(v); v.srcObject = window.remote; await v.play()
      await new Promise((resolve) => v.requestVideoFrameCallback(resolve))
      return { width: v.videoWidth, kinds: window.remote.getTracks().map((t) => t.kind + ':' + t.readyState).sort() }
    })()`
    for (const p of [ada, bob]) {
      const seen = await p.evaluate(plays) as { width: number, kinds: string[] }
      assert.ok(seen.width > 0, `a frame ${seen.width} px wide`)
      assert.deepEqual(seen.kinds, ['audio:live', 'video:live'])
    }
    await ada.evaluate('theCall.hangup()')
    await waitFor(() => bob.evaluate('theCall.state === "ended" && theCall.endReason === "hangup"'), 'Bob\'s side ended by her hang-up', 20_000)
    // the camera and microphone are off on both sides
    for (const p of [ada, bob]) assert.deepEqual(await p.evaluate('theCall.localStream.getTracks().map((t) => t.readyState)'), ['ended', 'ended'])
    const rows = await waitFor(async () => { const r = await records(server, domain); return r.length === 2 ? r : null }, 'started and ended', 10_000)
    assert.deepEqual(rows.map((m) => [m.from_userid, m.to_userid, m.message.message, m.message.p2]), [[2, 3, 'started', 'video'], [2, 3, 'ended', 'video']])
    assert.equal(rows[0].message.p1, await ada.evaluate('theCall.id'))

    // Sound only: Bob calls back; the tracks each side gets are audio, live.
    await bob.evaluate('states.length = 0; watch(chat.call(2))')
    await waitFor(() => ada.evaluate('states.includes("incoming 3 false")'), 'Ada\'s page rings', 20_000)
    await ada.evaluate('theCall.accept()')
    for (const p of [ada, bob]) await waitFor(() => p.evaluate('theCall.state === "active"'), 'the audio call active', 30_000)
    for (const p of [ada, bob]) {
      assert.deepEqual(await p.evaluate('window.remote.getTracks().map((t) => t.kind + ":" + t.readyState)'), ['audio:live'])
      assert.deepEqual(await p.evaluate('theCall.localStream.getTracks().map((t) => t.kind)'), ['audio'])
    }
    await bob.evaluate('theCall.hangup()')
    await waitFor(() => ada.evaluate('theCall.state === "ended"'), 'Ada\'s side ended', 20_000)
    const audio = await waitFor(async () => { const r = await records(server, domain); return r.length === 4 ? r : null }, 'the audio call\'s records', 10_000)
    assert.deepEqual(audio.slice(2).map((m) => [m.from_userid, m.to_userid, m.message.message, m.message.p2]), [[3, 2, 'started', 'audio'], [3, 2, 'ended', 'audio']])
    for (const p of [ada, bob]) assert.deepEqual((p as unknown as { errors: string[] }).errors, [])
  } catch (err) {
    await screenshot(ada, 'calls-client-ada')
    await screenshot(bob, 'calls-client-bob')
    throw err
  }
})

test('the widget: Ada video-calls Bob, his panel rings with Accept and Decline, both see each other, mute, hang up; a declined call; a blocked caller is told', async (t) => {
  const { server, domain, site, media } = await setUp(t, { MQCHAT_CALL_RING_MS: '20000' })
  const ada = await page(t, media, site.url(2, { 'data-domain': domain.id }))
  const bob = await page(t, media, site.url(3, { 'data-domain': domain.id }))
  const frames = (p: Page): Promise<number> => p.evaluate(`(async () => {
    const v = document.querySelector('[data-mqchat]').shadowRoot.querySelector('.callview video.remote')
    if (v === null || v.videoWidth === 0) return 0
    await new Promise((resolve) => v.requestVideoFrameCallback(resolve))
    return v.videoWidth
  })()`) as Promise<number>
  try {
    for (const p of [ada, bob]) await p.waitForFunction('window.mqchat !== undefined')
    await ada.evaluate('window.mqchat.open(3)')
    const conv = ada.getByRole('region', { name: 'Bob' })
    await conv.getByRole('button', { name: 'Video call', exact: true }).click()
    const adaCall = ada.getByRole('dialog', { name: 'Call with Bob' })
    await adaCall.getByRole('status').filter({ hasText: 'Calling…' }).waitFor()

    // Bob's panel was closed: it opens on Ada's conversation, and rings.
    const ringing = bob.getByRole('dialog', { name: 'Incoming call' })
    await ringing.waitFor()
    assert.equal(await ringing.getByRole('status').innerText(), 'Ada is video calling you')
    // focus is on Accept, and an accessibility checker finds nothing serious
    assert.equal(await bob.evaluate('document.querySelector("[data-mqchat]").shadowRoot.activeElement?.getAttribute("aria-label")'), 'Accept')
    assert.deepEqual(await axe(bob), [], 'the ringing dialog')
    // a modal dialog: Tab goes round its two buttons
    const focused = (): Promise<unknown> => bob.evaluate('document.querySelector("[data-mqchat]").shadowRoot.activeElement?.getAttribute("aria-label")')
    await bob.keyboard.press('Tab')
    assert.equal(await focused(), 'Decline')
    await bob.keyboard.press('Tab')
    assert.equal(await focused(), 'Accept')
    await ringing.getByRole('button', { name: 'Accept' }).click()
    const bobCall = bob.getByRole('dialog', { name: 'Call with Ada' })
    await bobCall.waitFor()
    // Each sees the other: the remote video plays frames of the fake camera; the timer runs.
    for (const p of [ada, bob]) await waitFor(async () => await frames(p) > 0, 'the peer\'s video playing', 30_000)
    await adaCall.getByRole('status').filter({ hasText: /^\d+:\d\d$/ }).waitFor()
    assert.deepEqual(await axe(ada), [], 'the call going')
    // Mute and Camera are toggles; the call goes on.
    const mute = bobCall.getByRole('button', { name: 'Mute' })
    await mute.click()
    assert.equal(await mute.getAttribute('aria-pressed'), 'true')
    assert.equal(await bob.evaluate('window.mqchat && document.querySelector("[data-mqchat]") !== null'), true)
    const camera = adaCall.getByRole('button', { name: 'Camera' })
    assert.equal(await camera.getAttribute('aria-pressed'), 'true')
    await camera.click()
    assert.equal(await camera.getAttribute('aria-pressed'), 'false')
    await camera.click()

    // Ada hangs up: both views say so, then give the conversation back.
    await adaCall.getByRole('button', { name: 'Hang up' }).click()
    await bobCall.getByRole('status').filter({ hasText: 'Call ended' }).waitFor()
    for (const p of [ada, bob]) await p.locator('.callview').waitFor({ state: 'detached' })
    const rows = await waitFor(async () => { const r = await records(server, domain); return r.length === 2 ? r : null }, 'started and ended', 10_000)
    assert.deepEqual(rows.map((m) => [m.message.message, m.message.p2]), [['started', 'video'], ['ended', 'video']])
    // The records are call lines in both conversations.
    await bob.getByRole('region', { name: 'Ada' }).getByText('Video call started').waitFor()
    await conv.getByText(/^Video call ended · \d+:\d\d$/).waitFor()

    // A call Bob declines: Ada hears it, and the record says missed.
    await conv.getByRole('button', { name: 'Call', exact: true }).click()
    await bob.getByRole('dialog', { name: 'Incoming call' }).getByRole('button', { name: 'Decline' }).click()
    await adaCall.getByRole('status').filter({ hasText: 'Call declined' }).waitFor()
    await waitFor(async () => (await records(server, domain)).at(-1)?.message.message === 'missed', 'missed')
    await bob.getByRole('region', { name: 'Ada' }).getByText('Missed call').waitFor()
    await ada.locator('.callview').waitFor({ state: 'detached' })

    // Bob blocks Ada: her call is refused, and she is told.
    await expectStatus('block', server.api('PUT', `/api/v1/domains/${domain.id}/users/3/blocks/2`, undefined, domain.apiKey), 204)
    await conv.getByRole('button', { name: 'Call', exact: true }).click()
    await adaCall.getByRole('status').filter({ hasText: 'This person cannot be called' }).waitFor()
    assert.equal(await bob.getByRole('dialog', { name: 'Incoming call' }).count(), 0)
    for (const p of [ada, bob]) assert.deepEqual((p as unknown as { errors: string[] }).errors, [])
  } catch (err) {
    await screenshot(ada, 'calls-widget-ada')
    await screenshot(bob, 'calls-widget-bob')
    throw err
  }
})
