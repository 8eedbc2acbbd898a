// widget-ui.js: the conversation interface, loaded on the first open (SPEC §9). Contacts with
// names, avatars, presence and unread counts; a conversation with its history (older pages on
// scroll), emoji, stickers, pictures, voice, typing, read ticks; a banner while offline.
// User text is always put in the page as text (textContent), never as HTML.
import type { Conversation, MessageEvent, Profile } from '../client/index.ts'
import type { WidgetContext, WidgetUi } from './context.ts'
import { PANEL_CSS } from './styles.ts'
import { attachTools } from './media.ts'

type Attrs = Record<string, string | boolean | undefined | ((e: any) => void)>

/** An element with attributes, handlers (on…) and children (strings become text nodes). */
export function h<K extends keyof HTMLElementTagNameMap> (tag: K, attrs: Attrs = {}, ...children: Array<Node | string | null>): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue
    if (typeof v === 'function') el.addEventListener(k.slice(2), v)
    else if (k === 'className') el.className = String(v)
    else el.setAttribute(k, v === true ? '' : v)
  }
  for (const c of children) if (c !== null) el.append(c)
  return el
}

interface Contact {
  userid: number
  name: string
  avatar: string | null
  status: string
  peerReadUpTo: number
  readUpTo: number
  lastId: number
}

/** Only http(s) URLs reach an src attribute (a javascript: or data: URL never does). */
function safeUrl (u: string | null | undefined): string | null {
  if (typeof u !== 'string') return null
  try {
    const url = new URL(u)
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null
  } catch { return null }
}

const TYPING_LAPSE_MS = 5000
const TYPING_EVERY_MS = 3000
const PAGE = 30

export function mountUi (ctx: WidgetContext): WidgetUi {
  const { chat, t } = ctx
  const style = document.createElement('style')
  style.textContent = PANEL_CSS
  ctx.root.append(style)

  const contacts = new Map<number, Contact>()
  const title = h('h2', { id: 'mq-title' }, t.chat)
  const closeBtn = h('button', { type: 'button', 'aria-label': t.close, onclick: () => ctx.close() }, '✕')
  const banner = h('p', { className: 'banner', role: 'status' })
  const list = h('ul', { className: 'contacts', 'aria-label': t.contacts })
  const moreBtn = h('button', { type: 'button', hidden: true }, t.moreOnline)
  const contactsView = h('div', { className: 'conv' }, list, moreBtn)
  const panel = h('div', { className: 'panel', role: 'dialog', 'aria-labelledby': 'mq-title' },
    h('div', { className: 'head' }, title, closeBtn), banner, contactsView)
  panel.addEventListener('keydown', (e: KeyboardEvent) => { if (e.key === 'Escape') { e.stopPropagation(); ctx.close() } })
  ctx.mount.append(panel)

  const showBanner = (s: string): void => { banner.textContent = s === 'offline' ? t.offline : s === 'connecting' ? t.connecting : '' }
  showBanner(chat.state)
  chat.on('connection', showBanner)

  // --- contacts ---
  const nameOf = (id: number): string => contacts.get(id)?.name ?? t.user(id)
  const avatarEl = (c: Contact): HTMLElement => {
    const src = safeUrl(c.avatar)
    return src !== null
      ? h('img', { className: 'avatar', src, alt: '' })
      : h('span', { className: 'avatar', 'aria-hidden': 'true' }, (c.name.trim()[0] ?? '?').toUpperCase())
  }
  const drawContacts = (): void => {
    // Redrawn on every presence change: the contact that had focus keeps it.
    const had = (ctx.root.activeElement as HTMLElement | null)?.dataset?.userid
    const rows = [...contacts.values()].sort((a, b) => (b.lastId - a.lastId) || ((a.status === 'offline' ? 1 : 0) - (b.status === 'offline' ? 1 : 0)) || a.name.localeCompare(b.name))
    list.replaceChildren(...rows.map((c) => {
      const n = ctx.unreadOf(c.userid)
      return h('li', {},
        h('button', { type: 'button', 'data-userid': String(c.userid), onclick: () => void openConversation(c.userid) },
          avatarEl(c),
          h('span', { className: 'who' },
            h('span', { className: 'name' }, c.name),
            h('span', { className: 'presence' }, h('span', { className: `dot ${c.status}`, 'aria-hidden': 'true' }), t.status[c.status] ?? c.status)),
          n > 0 ? h('span', { className: 'count' }, h('span', { 'aria-hidden': 'true' }, String(n)), h('span', { className: 'sr' }, t.unread(n))) : null))
    }))
    if (rows.length === 0) list.replaceChildren(h('li', { className: 'empty' }, t.noContacts))
    if (had !== undefined) list.querySelector<HTMLButtonElement>(`button[data-userid="${had}"]`)?.focus()
  }
  const upsert = (p: Profile, extra: Partial<Contact> = {}): Contact => {
    if (p.userid === chat.userid) return { userid: p.userid, name: t.you, avatar: null, status: 'online', peerReadUpTo: 0, readUpTo: 0, lastId: 0 }
    const old = contacts.get(p.userid)
    const c: Contact = {
      userid: p.userid,
      name: p.name ?? old?.name ?? t.user(p.userid),
      avatar: p.avatar ?? old?.avatar ?? null,
      status: p.status ?? old?.status ?? 'offline',
      peerReadUpTo: old?.peerReadUpTo ?? 0,
      readUpTo: old?.readUpTo ?? 0,
      lastId: old?.lastId ?? 0,
      ...extra
    }
    contacts.set(p.userid, c)
    chat.watch(p.userid)
    return c
  }
  let nextOnline: number | null = null
  const loadOnline = async (): Promise<void> => {
    const page = await chat.onlineUsers({ after: nextOnline ?? undefined, limit: 50 })
    for (const u of page.users) upsert(u)
    nextOnline = page.next ?? null
    moreBtn.hidden = nextOnline === null
    drawContacts()
  }
  moreBtn.addEventListener('click', () => { void loadOnline() })
  const loadContacts = async (): Promise<void> => {
    const convs: Conversation[] = await ctx.conversations()
    for (const c of convs) upsert(c.peer, { peerReadUpTo: c.peerReadUpTo, readUpTo: c.readUpTo, lastId: c.last?.message.id ?? 0 })
    nextOnline = null
    await loadOnline()
  }
  let contactsLoaded: Promise<void> | null = null
  // Who comes online, as it happens, while the list is on screen (the domain's presence,
  // watched only then): someone new brings the first page of online users again (one REST
  // call however many come at once), with their profiles.
  let onlineAgain: ReturnType<typeof setTimeout> | null = null
  const someoneNew = (): void => {
    onlineAgain ??= setTimeout(() => {
      onlineAgain = null
      nextOnline = null
      void loadOnline().catch(() => {})
    }, 150)
  }
  const listOnScreen = (on: boolean): void => { chat.watchAll(on) }

  chat.on('presence', (p) => {
    if (p.userid === chat.userid) return
    const c = contacts.get(p.userid)
    if (c === undefined) { if (p.status !== 'offline') someoneNew(); return }
    c.status = p.status
    drawContacts()
    if (conv?.peer === p.userid) conv.status.textContent = t.status[p.status] ?? p.status
  })

  // --- a conversation ---
  interface Open { peer: number, region: HTMLElement, log: HTMLOListElement, status: HTMLElement, typing: HTMLElement, input: HTMLTextAreaElement, older: HTMLButtonElement, oldest: number | null, items: Map<number, HTMLLIElement>, typingTimer: ReturnType<typeof setTimeout> | null, release: () => void, paged: boolean, pinned: boolean }
  let conv: Open | null = null
  let lastTypingSent = 0

  const tick = (li: HTMLElement, state: 'sending' | 'sent' | 'read' | 'failed'): void => {
    const meta = li.querySelector('.tick')
    if (meta === null) return
    const glyph = state === 'read' ? '✓✓' : state === 'sent' ? '✓' : state === 'failed' ? '!' : '…'
    const text = state === 'read' ? t.read : state === 'sent' ? t.sent : state === 'failed' ? t.failed : t.sending
    meta.replaceChildren(h('span', { 'aria-hidden': 'true' }, glyph), h('span', { className: 'sr' }, text))
    li.dataset.state = state
  }

  const body = (m: MessageEvent['message']): Node => {
    const url = safeUrl(m.message)
    switch (m.type) {
      case 1: return url !== null && url.startsWith(`${ctx.base}/stickers/`) ? h('img', { className: 'sticker', src: url, alt: t.sticker }) : document.createTextNode(t.sticker)
      case 2: case 4: return url !== null ? h('a', { href: url, target: '_blank', rel: 'noopener noreferrer' }, h('img', { src: url, alt: t.picture })) : document.createTextNode(t.picture)
      case 3: return url !== null ? h('audio', { controls: true, preload: 'metadata', src: url, 'aria-label': t.voice }) : document.createTextNode(t.voice)
      case 5: return h('span', {}, `📞 ${t.call}${m.message !== '' ? ` · ${m.message}` : ''}`)
      default: return h('span', { className: 'text' }, m.message)
    }
  }
  const time = (sec: number): string => new Date(sec * 1000).toLocaleTimeString(ctx.lang, { hour: '2-digit', minute: '2-digit' })

  const messageItem = (m: MessageEvent | { from_userid: number, message: MessageEvent['message'] }, state?: 'sending' | 'sent' | 'read'): HTMLLIElement => {
    const mine = m.from_userid === chat.userid
    const li = h('li', { className: mine ? 'msg mine' : 'msg' },
      h('span', { className: 'sr' }, `${mine ? t.you : nameOf(m.from_userid)}: `),
      body(m.message),
      h('span', { className: 'meta' }, m.message.timestamp > 0 ? time(m.message.timestamp) : '', mine ? ' ' : '', mine ? h('span', { className: 'tick' }) : null))
    if (mine) tick(li, state ?? 'sent')
    return li
  }

  const isRead = (c: Contact | undefined, id: number): boolean => c !== undefined && id <= c.peerReadUpTo

  const place = (o: Open, m: MessageEvent): void => {
    if (o.items.has(m.message.id)) return
    const mine = m.from_userid === chat.userid
    const li = messageItem(m, mine && isRead(contacts.get(o.peer), m.message.id) ? 'read' : 'sent')
    o.items.set(m.message.id, li)
    li.dataset.id = String(m.message.id)
    // In id order: history pages come older, live messages newer.
    const after = [...o.log.children].find((x) => Number((x as HTMLElement).dataset.id ?? Infinity) > m.message.id)
    o.log.insertBefore(li, after ?? o.log.querySelector('[data-state="sending"]'))
    if (o.oldest === null || m.message.id < o.oldest) o.oldest = m.message.id
  }

  const markRead = (): void => {
    if (conv === null || ctx.activePeer !== conv.peer || document.visibilityState === 'hidden') return
    const c = contacts.get(conv.peer)
    let top = 0
    for (const [id, li] of conv.items) if (!li.classList.contains('mine') && id > top) top = id
    if (c !== undefined && top > c.readUpTo) { c.readUpTo = top; chat.read(conv.peer, top) }
    ctx.read(conv.peer, top)
    // (the list behind the conversation shows the count, none now)
    drawContacts()
  }
  document.addEventListener('visibilitychange', markRead)

  const loadOlder = async (o: Open): Promise<void> => {
    const page = await chat.history(o.peer, { before: o.oldest ?? undefined, limit: PAGE })
    const h0 = o.log.scrollHeight
    for (const m of page) place(o, m)
    o.older.hidden = page.length < PAGE
    o.log.scrollTop += o.log.scrollHeight - h0
  }

  const scrollDown = (o: Open): void => { o.log.scrollTop = o.log.scrollHeight; o.pinned = true }

  /**
   * This user's messages on their way (the client's outbox, chat.pending()), by cid: a
   * conversation opened again while they wait draws them, and settles them when they are stored.
   */
  const sending = new Map<string, Promise<MessageEvent>>()

  const drawSending = (o: Open, text: string, type: number, done: Promise<MessageEvent> | undefined): void => {
    const li = messageItem({ from_userid: chat.userid, message: { id: 0, message: text, type, p1: '', p2: '', p3: '', timestamp: 0 } }, 'sending')
    o.log.append(li)
    scrollDown(o)
    done?.then((event) => {
      li.remove()
      if (conv === o) { place(o, event); scrollDown(o) }
    }, () => { tick(li, 'failed') })
  }

  const sendNow = (o: Open, text: string, type = 0): void => {
    const peer = o.peer
    const done = chat.send(peer, text, { type })
    // send() has put it last in the client's outbox: its cid ties it to this promise.
    const p = chat.pending().at(-1)
    if (p !== undefined && p.to_userid === peer && p.message === text) {
      sending.set(p.cid, done)
      done.then(() => sending.delete(p.cid), () => sending.delete(p.cid))
    }
    done.then((event) => {
      const c = contacts.get(peer)
      if (c !== undefined) c.lastId = Math.max(c.lastId, event.message.id)
    }, () => {})
    drawSending(o, text, type, done)
  }

  /** The newest page of the conversation; while offline, it comes on the return. */
  const loadFirst = async (o: Open): Promise<void> => {
    await loadOlder(o)
    o.paged = true
    if (conv !== o) return
    scrollDown(o)
    markRead()
  }

  /** Moves on with each open, each return to the contacts and each close: an open still
   * waiting for a profile gives way to whatever the user did since. */
  let opening = 0

  const openConversation = async (peer: number): Promise<void> => {
    const turn = ++opening
    if (!contacts.has(peer)) {
      const p = await chat.profile(peer).catch(() => ({ userid: peer, name: null, avatar: null, link: null, status: 'offline', timestamp: null }))
      if (turn !== opening) return
      upsert(p)
    }
    const c = contacts.get(peer)!
    const log = h('ol', { className: 'log', 'aria-label': c.name, tabindex: '0' })
    const input = h('textarea', { id: 'mq-message', rows: '1', autocomplete: 'off' })
    const older = h('button', { type: 'button', hidden: true }, t.older)
    const status = h('span', { className: 'presence' }, t.status[c.status] ?? c.status)
    const typing = h('p', { className: 'typing', 'aria-live': 'polite' })
    const back = h('button', { type: 'button', 'aria-label': t.back, onclick: () => showContacts() }, ctx.lang === 'ar' ? '→' : '←')
    const form = h('form', { className: 'composer' },
      h('label', { for: 'mq-message', className: 'sr' }, t.message), input,
      h('button', { type: 'submit', className: 'primary' }, t.send))
    const region = h('section', { className: 'conv', 'aria-label': c.name },
      h('div', { className: 'head' }, back, h('span', { className: 'who' }, h('span', { className: 'name' }, c.name), status)),
      older, log, typing, form)
    const o: Open = { peer, region, log, status, typing, input, older, oldest: null, items: new Map(), typingTimer: null, release: () => {}, paged: false, pinned: true }
    // The conversation left: its camera and microphone go off, a record in progress is dropped.
    conv?.release()
    conv = o
    ctx.activePeer = peer
    older.addEventListener('click', () => { void loadOlder(o) })
    log.addEventListener('scroll', () => {
      o.pinned = log.scrollHeight - log.scrollTop - log.clientHeight < 40
      if (log.scrollTop === 0 && !older.hidden) void loadOlder(o)
    })
    // A picture (or sticker) that loads grows the list: at the bottom it stays at the bottom.
    log.addEventListener('load', () => { if (o.pinned) scrollDown(o) }, true)
    form.addEventListener('submit', (e) => {
      e.preventDefault()
      const text = input.value.trim()
      if (text === '') return
      input.value = ''
      sendNow(o, text)
    })
    input.addEventListener('keydown', (e: KeyboardEvent) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); form.requestSubmit() }
    })
    input.addEventListener('input', () => {
      if (Date.now() - lastTypingSent > TYPING_EVERY_MS && input.value !== '') { lastTypingSent = Date.now(); chat.typing(peer) }
    })
    o.release = attachTools(ctx, form, input, { send: (url, type) => sendNow(o, url, type), h })
    contactsView.hidden = true
    listOnScreen(false)
    title.textContent = t.chat
    panel.querySelector('section.conv')?.remove()
    panel.append(region)
    // What this user wrote to peer and the client has not stored yet (written offline, say).
    for (const p of chat.pending()) if (p.to_userid === peer) drawSending(o, p.message, p.type, sending.get(p.cid))
    input.focus()
    await loadFirst(o).catch(() => {})
  }

  const showContacts = (): void => {
    const was = conv?.peer
    opening++
    conv?.release()
    panel.querySelector('section.conv')?.remove()
    conv = null
    ctx.activePeer = null
    contactsView.hidden = false
    listOnScreen(true)
    drawContacts()
    const btn = was === undefined ? null : list.querySelector<HTMLButtonElement>(`button[data-userid="${was}"]`)
    ;(btn ?? list.querySelector('button') ?? closeBtn).focus()
  }

  chat.on('message', (m) => {
    const peer = m.from_userid === chat.userid ? m.to_userid : m.from_userid
    const c = contacts.get(peer)
    if (c !== undefined) c.lastId = Math.max(c.lastId, m.message.id)
    if (conv !== null && conv.peer === peer) {
      place(conv, m)
      if (conv.pinned || m.from_userid === chat.userid) scrollDown(conv)
      if (m.from_userid === peer) {
        conv.typing.textContent = ''
        markRead()
      }
    }
    if (m.from_userid !== chat.userid) {
      if (c === undefined) void chat.profile(peer).then((p) => { upsert(p); drawContacts() }).catch(() => {})
      ctx.announce(t.newMessage(nameOf(peer), m.message.type === 0 ? m.message.message : m.message.type === 1 ? t.sticker : m.message.type === 3 ? t.voice : m.message.type === 5 ? t.call : t.picture))
    }
    if (conv === null) drawContacts()
  })

  chat.on('typing', ({ from_userid: from }) => {
    if (conv === null || conv.peer !== from) return
    const o = conv
    o.typing.textContent = t.typing(nameOf(from))
    if (o.typingTimer !== null) clearTimeout(o.typingTimer)
    o.typingTimer = setTimeout(() => { o.typing.textContent = '' }, TYPING_LAPSE_MS)
  })

  chat.on('read', (r) => {
    // The peer has read this user's messages up to r.up_to: ticks become `Read`.
    if (r.peer !== chat.userid) return
    const c = contacts.get(r.userid)
    if (c === undefined || r.up_to <= c.peerReadUpTo) return
    c.peerReadUpTo = r.up_to
    if (conv?.peer === r.userid) {
      for (const [id, li] of conv.items) if (li.classList.contains('mine') && id <= r.up_to) tick(li, 'read')
    }
  })

  // After a reconnect the contacts' counts and presence may have moved on, and a conversation
  // opened while offline gets its history.
  chat.on('connection', (s) => {
    if (s !== 'online') return
    if (contactsLoaded !== null) void loadContacts().catch(() => {})
    if (conv !== null && !conv.paged) void loadFirst(conv).catch(() => {})
  })

  return {
    async open (userid?: number) {
      contactsLoaded ??= loadContacts().catch(() => { contactsLoaded = null })
      if (userid !== undefined) { await openConversation(userid); return }
      if (conv !== null) { ctx.activePeer = conv.peer; conv.input.focus(); markRead(); return }
      listOnScreen(true)
      await contactsLoaded
      drawContacts()
      ;(list.querySelector('button') ?? closeBtn).focus()
    },
    hide () {
      // The conversation stays drawn for the next open; its messages count as unread meanwhile.
      // Its camera and microphone go off, and a record in progress is dropped: nothing is sent
      // from a closed panel.
      opening++
      listOnScreen(false)
      if (conv !== null) { ctx.activePeer = null; conv.release() }
    }
  }
}
