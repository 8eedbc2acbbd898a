// `npm run screenshots:calls`: the call's pictures in docs/images/, made from the demo (`npm run
// demo`, on free ports) in Debian's chromium with its fake camera and microphone (a test
// pattern): call-incoming.png (Alan's panel rings, light), call-video.png (the call going,
// dark), call-arabic.png (the incoming dialog, right to left), call-phone.png (375 × 700), and
// call-lines.png (the conversation afterwards on a phone: its Call and Video call buttons, the calls' lines).
import { chromium, type Browser, type Page } from 'playwright-core'
import { CHROMIUM, CHROMIUM_FLAGS, pageAs, save, startDemo, until } from './demo-pictures.ts'

const FLAGS = [...CHROMIUM_FLAGS, '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', '--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns']

const demo = startDemo()
let browser: Browser | null = null
try {
  const site = await until(() => /Ada Lovelace: (http:\/\/localhost:\d+)\//.exec(demo.out())?.[1], `the demo's links (${demo.out()})`)
  browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS })
  const as = async (user: number, query: string, viewport?: { width: number, height: number }): Promise<Page> => {
    const page = await pageAs(browser!, site, user, query, viewport)
    await page.waitForFunction('window.mqchat !== undefined')
    return page
  }
  /** Ada video-calls Alan; `shoot` takes its pictures; then she hangs up. */
  const call = async (query: string, viewport: { width: number, height: number } | undefined, shoot: (ada: Page, alan: Page) => Promise<void>): Promise<void> => {
    const ada = await as(1, query, viewport)
    const alan = await as(2, query, viewport)
    await ada.evaluate('window.mqchat.open(2)')
    await ada.locator('section.conv').locator('.actions button').nth(1).click() // Video call, in any language
    await alan.locator('.callview').waitFor()
    await shoot(ada, alan)
    await ada.locator('.callview .call-btn.end').click().catch(() => {})
    await ada.context().close()
    await alan.context().close()
  }
  const accepted = async (ada: Page, alan: Page): Promise<void> => {
    await alan.locator('.callview .call-btn.accept').click()
    for (const p of [ada, alan]) {
      await p.waitForFunction(`(document.querySelector('[data-mqchat]').shadowRoot.querySelector('.callview video.remote')?.videoWidth ?? 0) > 0`)
    }
    await ada.waitForFunction(`/^\\d+:\\d\\d$/.test(document.querySelector('[data-mqchat]').shadowRoot.querySelector('.call-status').textContent)`)
  }
  await call('', undefined, async (_ada, alan) => { await save(alan, 'call-incoming') })
  await call('&theme=dark', undefined, async (ada, alan) => { await accepted(ada, alan); await save(ada, 'call-video') })
  await call('&lang=ar', undefined, async (_ada, alan) => { await save(alan, 'call-arabic') })
  await call('', { width: 375, height: 700 }, async (ada, alan) => { await accepted(ada, alan); await save(alan, 'call-phone') })
  const ada = await as(1, '', { width: 375, height: 700 })
  await ada.evaluate('window.mqchat.open(2)')
  await ada.locator('section.conv li.msg.notice').nth(3).waitFor()
  await save(ada, 'call-lines')
} finally {
  await browser?.close()
  demo.stop()
}
