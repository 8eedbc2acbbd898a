// `npm run screenshots`: the widget's pictures in docs/images/, made from the demo (`npm run
// demo`, started here on free ports) in Debian's chromium, so that they follow the code:
// widget-contacts.png (the contact list), widget-light.png and widget-dark.png (a conversation,
// as a site owner sees it in a 1200 × 900 window), widget-arabic.png (right to left) and widget-phone.png (375 × 700, the whole screen).
import sharp from 'sharp'
import { chromium, type Browser, type Page } from 'playwright-core'
import { CHROMIUM, CHROMIUM_FLAGS, pageAs, save, startDemo, until } from './demo-pictures.ts'

const OPERATOR_KEY = 'demo-operator-key-not-for-production'
const FLAGS = CHROMIUM_FLAGS

const demo = startDemo()
let browser: Browser | null = null
try {
  const site = await until(() => /Ada Lovelace: (http:\/\/localhost:\d+)\//.exec(demo.out())?.[1], `the demo's links (${demo.out()})`)
  const server = await until(() => /\(server (http:\/\/[^ ]+), admin panel/.exec(demo.out())?.[1], 'the demo server')
  const api = async (method: string, p: string, body: unknown, type = 'application/json'): Promise<any> => {
    const res = await fetch(`${server}/api/v1${p}`, { method, headers: { authorization: `Bearer ${OPERATOR_KEY}`, 'content-type': type }, body: Buffer.isBuffer(body) ? body : JSON.stringify(body) })
    if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${await res.text()}`)
    return await res.json()
  }
  const say = (from: number, to: number, message: string, type = 0): Promise<unknown> =>
    api('POST', '/domains/demo/messages', { from_userid: from, to_userid: to, message, type })

  // A conversation between Ada (1) and Alan (2): text, a picture, a sticker.
  await say(2, 1, 'Hi Ada! Did my order ship yet?')
  await say(1, 2, 'Hello Alan, it left the warehouse this morning.')
  await say(1, 2, 'Here is the parcel, ready to go:')
  const parcel = await sharp({ create: { width: 640, height: 420, channels: 3, background: '#d9c7a7' } })
    .composite([{ input: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="640" height="420"><rect x="170" y="90" width="300" height="240" rx="10" fill="#b08a5a"/><rect x="300" y="90" width="40" height="240" fill="#e8dcc4"/><rect x="200" y="250" width="90" height="50" fill="#fff"/></svg>'), left: 0, top: 0 }])
    .jpeg().toBuffer()
  const file = await api('POST', '/domains/demo/files', parcel, 'image/jpeg')
  await say(1, 2, file.url, 2)
  await say(2, 1, 'Wonderful, thank you!')
  await say(2, 1, `${server}/stickers/heart.svg`, 1)

  browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS })
  const as = (user: number, query: string, viewport?: { width: number, height: number }): Promise<Page> => pageAs(browser!, site, user, query, viewport)
  // Alan is online (his page is open) and has read Ada's messages (her ticks say Read).
  const alan = await as(2, '')
  await alan.getByRole('button', { name: 'Chat', exact: true }).click()
  await alan.getByRole('list', { name: 'Contacts' }).getByRole('button', { name: /Ada Lovelace/ }).click()
  await alan.getByRole('region', { name: 'Ada Lovelace' }).getByText('Here is the parcel, ready to go:').waitFor()

  const shoot = async (name: string, query: string, peer: string | null, viewport?: { width: number, height: number }, chat = 'Chat', contactsName = 'Contacts'): Promise<void> => {
    const ada = await as(1, query, viewport)
    await ada.getByRole('button', { name: chat, exact: true }).click()
    const list = ada.getByRole('list', { name: contactsName })
    if (peer === null) await list.getByRole('button', { name: /Alan Turing/ }).getByText(/online/).waitFor()
    else {
      await list.getByRole('button', { name: new RegExp(peer) }).click()
      await ada.getByRole('region', { name: peer, exact: true }).locator('li.msg').last().waitFor()
    }
    // every picture in the conversation drawn
    await ada.waitForFunction(`[...document.querySelector('[data-mqchat]').shadowRoot.querySelectorAll('img')].every((i) => i.complete && i.naturalWidth > 0)`)
    await save(ada, name)
    await ada.context().close()
  }
  await shoot('widget-contacts', '', null)
  await shoot('widget-light', '', 'Alan Turing')
  await shoot('widget-dark', '&theme=dark', 'Alan Turing')
  await shoot('widget-phone', '', 'Alan Turing', { width: 375, height: 700 })
  // In Arabic, with Grace (3), who writes Ada in Arabic.
  await say(3, 1, 'مرحبًا آدا! هل وصلك الطرد؟')
  await say(1, 3, 'نعم، وصل اليوم. شكرًا جزيلًا!')
  await say(3, 1, 'رائع، يسعدنا ذلك.')
  await shoot('widget-arabic', '&lang=ar', 'Grace Hopper', undefined, 'دردشة', 'جهات الاتصال')
} finally {
  await browser?.close()
  demo.stop()
}
