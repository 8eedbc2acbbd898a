// widget.js (SPEC §9): what a site's tag loads. Kept small: it draws the launcher, connects
// (the visitor is online and sees the unread count at once) and loads the conversation
// interface, /widget-ui.js, on first open. Everything it draws lives in an open shadow root
// (the host page's styles do not reach in, test tools and screen readers do); the only global
// it sets is window.mqchat.
import type * as ClientModule from '../client/index.ts'
import { backoffMs } from '../client/logic.ts'
import type { WidgetContext, WidgetUi } from './context.ts'
import { pickLang, STRINGS } from './i18n.ts'
import { LOADER_CSS } from './styles.ts'
import { unreadCounts } from './unread.ts'

declare global { interface Window { mqchat?: { open: (userid?: number) => Promise<void>, close: () => void } } }
/** The build of /client.js and /widget-ui.js this loader was made with (src/http/widget.ts). */
declare const __MQCHAT_BUILD__: string

function fire (name: string, detail: unknown): void {
  document.dispatchEvent(new CustomEvent(name, { detail }))
}

async function main (script: HTMLScriptElement): Promise<void> {
  const base = new URL('.', script.src).href.replace(/\/$/, '')
  const d = script.dataset
  const domain = d.domain
  if (domain === undefined || domain === '') { console.error('mqchat: the tag needs data-domain'); return }
  const lang = pickLang(d.lang, document.documentElement.lang)
  const t = STRINGS[lang]
  const layout = d.layout === 'embedded' ? 'embedded' : 'docked'

  const getToken = async (): Promise<string> => {
    if (d.token !== undefined && d.token !== '') return d.token
    if (d.tokenUrl === undefined) throw new Error('mqchat: the tag needs data-token-url or data-token')
    // The site's own endpoint, with the site's cookies: the user id is never taken from the page.
    const res = await fetch(d.tokenUrl, { credentials: 'include', headers: { accept: 'application/json' } })
    if (!res.ok) throw new Error(`mqchat: the token endpoint answered ${res.status}`)
    return (await res.json()).token
  }

  const host = document.createElement('div')
  host.setAttribute('data-mqchat', '')
  const target = layout === 'embedded' && d.target !== undefined ? document.querySelector(d.target) : null
  // Embedded, the chat fills the site's element (which sets its size).
  if (target !== null) host.style.cssText = 'display:block;height:100%'
  ;(target ?? document.body).appendChild(host)
  const root = host.attachShadow({ mode: 'open' })
  const wrap = document.createElement('div')
  // The tag's settings (docs/widget.md): the theme, the side, the accent colour.
  const theme = d.theme === 'light' || d.theme === 'dark' ? d.theme : 'auto'
  const side = d.position === 'left' || d.position === 'right' ? d.position : ''
  wrap.className = `mq ${layout} ${theme} ${side}`
  const color = d.color ?? ''
  if (color !== '' && CSS.supports('color', color)) {
    wrap.style.setProperty('--mqchat-accent', color)
    // Text on the accent that stays readable: dark on a light colour, white on a dark one.
    const hex = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(color)?.[1]
    if (hex !== undefined) {
      const full = hex.length === 3 ? hex.replace(/./g, '$&$&') : hex
      const [r, g, b] = [0, 2, 4].map((i) => parseInt(full.slice(i, i + 2), 16))
      wrap.style.setProperty('--mqchat-accent-text', 0.299 * r! + 0.587 * g! + 0.114 * b! > 160 ? '#111' : '#fff')
    }
  }
  wrap.dir = lang === 'ar' ? 'rtl' : 'ltr'
  wrap.lang = lang
  const style = document.createElement('style')
  style.textContent = LOADER_CSS
  const live = document.createElement('div')
  live.className = 'sr'
  live.setAttribute('aria-live', 'polite')
  root.append(style, wrap)
  wrap.append(live)

  let launcher: HTMLButtonElement | null = null
  let badge: HTMLSpanElement | null = null
  let badgeText: HTMLSpanElement | null = null
  if (layout === 'docked') {
    launcher = document.createElement('button')
    launcher.type = 'button'
    launcher.className = 'launcher'
    launcher.setAttribute('aria-expanded', 'false')
    // The badge is hidden from the name and described instead: the button's name stays `Chat` (SPEC §9).
    const label = document.createElement('span')
    label.textContent = t.chat
    // (a constant of ours, no page text: the bubble icon, drawn in the launcher's colour)
    launcher.innerHTML = '<svg viewBox="0 0 24 24" width="24" height="24" fill="currentColor" aria-hidden="true" focusable="false"><path d="M4 4h16a2 2 0 012 2v10a2 2 0 01-2 2H9l-5 4V6a2 2 0 012-2z"/></svg>'
    badge = document.createElement('span')
    badge.className = 'badge'
    badge.hidden = true
    badge.setAttribute('aria-hidden', 'true')
    badgeText = document.createElement('span')
    badgeText.className = 'sr'
    badgeText.id = 'mq-unread'
    launcher.setAttribute('aria-describedby', 'mq-unread')
    launcher.append(label, badge)
    wrap.append(launcher, badgeText)
  }
  const mount = document.createElement('div')
  mount.className = 'mount'
  wrap.append(mount)

  const unread = unreadCounts()
  let lastTotal = -1
  const showTotal = (): void => {
    const total = unread.total()
    if (badge !== null && badgeText !== null) {
      badge.hidden = total === 0
      badge.textContent = total === 0 ? '' : total > 99 ? '99+' : String(total)
      badgeText.textContent = total === 0 ? '' : t.unread(total)
    }
    if (total !== lastTotal) { lastTotal = total; fire('mqchat:unread', { total }) }
  }

  // A click before the connection is up opens the panel as soon as it is (and a loader that
  // takes over from an older one, below, opens it if the visitor had asked).
  let openEarly = d.mqchatOpen !== undefined
  let api: { open: (userid?: number) => Promise<void>, close: () => void } | null = null
  launcher?.addEventListener('click', () => {
    if (api === null) { openEarly = !openEarly; launcher!.setAttribute('aria-expanded', String(openEarly)); return }
    if (wrap.classList.contains('open')) api.close(); else void api.open()
  })

  let chat: ClientModule.Chat | undefined
  /**
   * This loader is not of the server's build (the browser kept it across a deploy, or, during
   * a rolling deploy, it met a node of the other build): a fresh one, from the server, takes
   * over, with the same tag. A fresh one that meets another build again tries later, a few
   * times (data-mqchat-fresh counts them), then gives up.
   */
  const handOver = async (openNow: boolean): Promise<never> => {
    chat?.close()
    host.remove()
    const tries = d.mqchatFresh === undefined ? 0 : Number(d.mqchatFresh) + 1
    if (tries > 4) throw new Error('mqchat: the server keeps changing its version; reload the page')
    if (tries > 0) await new Promise((resolve) => setTimeout(resolve, backoffMs(tries + 1, Math.random())))
    const fresh = document.createElement('script')
    for (const a of Array.from(script.attributes)) if (a.name !== 'src') fresh.setAttribute(a.name, a.value)
    fresh.setAttribute('data-mqchat-fresh', String(tries))
    if (openNow) fresh.setAttribute('data-mqchat-open', '')
    fresh.src = `${base}/widget.js?fresh=${Date.now().toString(36)}`
    script.after(fresh)
    return await new Promise<never>(() => {})
  }

  const client = await import(`${base}/client.js?v=${__MQCHAT_BUILD__}`) as typeof ClientModule & { stale?: true }
  if (client.stale === true) return await handOver(false)
  const { connect } = client
  for (let attempt = 0; ; attempt++) {
    try {
      chat = await connect({ url: base, domain, getToken })
      break
    } catch (err) {
      // Not signed in, or refused (a token for another domain, an origin the domain does not
      // allow): no launcher that would lead nowhere.
      if ((err as { code?: string }).code !== 'unreachable') {
        host.remove()
        throw err
      }
      // The server is out of reach (restarting, a network blip): hidden until it answers.
      host.hidden = true
      await new Promise((resolve) => setTimeout(resolve, backoffMs(attempt, Math.random())))
    }
  }
  host.hidden = false
  // The one way the loader and the interface ask for the conversations: every answer goes
  // through the unread counts (widget/unread.ts), whatever came live meanwhile.
  const conversations = async (): Promise<ClientModule.Conversation[]> => {
    const ticket = unread.ask()
    const list = await chat.conversations({ limit: 100 })
    for (const c of list) {
      const peer = c.peer.userid
      unread.answer(ticket, peer, peer === ctx.activePeer ? 0 : c.unread, c.last?.message.id ?? 0)
    }
    showTotal()
    return list
  }

  let ui: Promise<WidgetUi> | null = null
  const ctx: WidgetContext = {
    chat,
    base,
    lang,
    t,
    root,
    mount,
    layout,
    unreadOf: unread.of,
    read: (peer, upTo) => { unread.read(peer, upTo); showTotal() },
    conversations,
    activePeer: null,
    announce: (text) => { live.textContent = ''; setTimeout(() => { live.textContent = text }, 50) },
    launcher,
    title: d.title,
    greeting: d.greeting,
    close: () => { api?.close() },
    // SPEC §10.1: a worker must be of the page's origin: the site's own file (which imports
    // ours), or ours when the page is on the server's origin.
    serviceWorker: d.serviceWorker || (new URL(base).origin === location.origin ? `${base}/sw.js` : null)
  }
  const loadUi = (): Promise<WidgetUi> => {
    ui ??= import(`${base}/widget-ui.js?v=${__MQCHAT_BUILD__}`).then((m: { mountUi: (c: WidgetContext) => WidgetUi, stale?: true }) =>
      m.stale === true ? handOver(true) : m.mountUi(ctx))
    return ui
  }

  chat.on('message', (m) => {
    fire('mqchat:message', m)
    if (m.from_userid !== chat.userid && m.from_userid !== ctx.activePeer) {
      unread.live(m.from_userid, m.message.id)
      showTotal()
    }
  })
  // A read marker of this user (this tab or another) settles the counts the server keeps.
  let pending: ReturnType<typeof setTimeout> | null = null
  chat.on('read', (r) => {
    if (r.userid !== chat.userid || pending !== null) return
    pending = setTimeout(() => { pending = null; void conversations().catch(() => {}) }, 200)
  })
  chat.on('connection', (s) => { wrap.classList.toggle('offline', s === 'offline') })
  // SPEC §10.2: an incoming call opens the panel on the caller's conversation, and rings there.
  chat.on('call', (call) => {
    void api?.open(call.peer).then(() => loadUi()).then((u) => u.ring(call)).catch(() => call.decline())
  })

  api = {
    open: async (userid?: number): Promise<void> => {
      launcher?.setAttribute('aria-expanded', 'true')
      wrap.classList.add('open')
      await (await loadUi()).open(userid)
    },
    close: (): void => {
      launcher?.setAttribute('aria-expanded', 'false')
      wrap.classList.remove('open')
      ctx.activePeer = null
      if (ui !== null) void ui.then((u) => u.hide())
      launcher?.focus()
    }
  }
  window.mqchat = api
  // A notification's click (SPEC §10.1): this page, opened with `#mqchat=<peer>`, or already
  // open and told by the service worker.
  const fromPush = Number(/^#mqchat=(\d{1,15})$/.exec(location.hash)?.[1])
  if (fromPush > 0) history.replaceState(history.state, '', location.href.split('#')[0])
  const sw = navigator.serviceWorker
  sw?.addEventListener('message', (e) => {
    const m = e.data
    if (m?.mqchat === 'open' && m.domain === domain && m.peer > 0) void api!.open(m.peer)
  })
  sw?.startMessages()
  // Subscribed on an earlier visit: given to the server again, for whoever is signed in now.
  if (ctx.serviceWorker !== null) chat.renewPush(ctx.serviceWorker).catch(() => {})
  await conversations().catch(() => {})
  if (fromPush > 0) await api.open(fromPush)
  else if (layout === 'embedded' || openEarly) await api.open()
  fire('mqchat:ready', { userid: chat.userid })
}

const script = (document.currentScript ?? document.querySelector('script[data-domain][src*="widget.js"]')) as HTMLScriptElement | null
if (script !== null) main(script).catch((err) => console.error('mqchat:', err))
