// widget-ui.js: the conversation interface, loaded on the first open (SPEC §9). One view at a
// time in the panel: the contact list (names, avatars, presence, the last message and its
// time, unread counts), or one conversation filling it (a header with the peer, the history
// with older pages on scroll, the composer with emoji, stickers, pictures and voice), with
// typing, read ticks and a banner while offline. Pieces: ui/dom.ts (elements), ui/icons.ts
// (inline SVG), ui/messages.ts (how each kind of message looks), ui/composer.ts (the field, Send
// and media.ts's tools), ui/calls.ts (calls).
// User text is always put in the page as text (textContent), never as HTML.
import type { Conversation, MessageEvent, Profile } from '../client/index.ts'
import type { WidgetContext, WidgetUi } from './context.ts'
import { pushToggle } from './push.ts'
import { mountCalls } from './ui/calls.ts'
import { composer } from './ui/composer.ts'
import { h, safeUrl } from './ui/dom.ts'
import { icon } from './ui/icons.ts'
import { bodies, dayOf } from './ui/messages.ts'
import { UI_STRINGS } from './ui/strings.ts'
import { PANEL_CSS } from './ui/styles.ts'

export { h } from './ui/dom.ts'

type Message = MessageEvent['message']

interface Contact {
  userid: number
  name: string
  avatar: string | null
  status: string
  peerReadUpTo: number
  readUpTo: number
  lastId: number
  /** the newest message of the conversation, for its row */
  last: { mine: boolean, message: Message } | null
}

const TYPING_LAPSE_MS = 5000
const PAGE = 30
/** Messages of one sender closer than this in time are drawn as one group of bubbles. */
const GROUP_S = 5 * 60

export function mountUi (ctx: WidgetContext): WidgetUi {
  const { chat, t } = ctx
  const u = UI_STRINGS[ctx.lang]
  const style = document.createElement('style')
  style.textContent = PANEL_CSS
  ctx.root.append(style)

  const contacts = new Map<number, Contact>()
  // (embedded in the page, the panel is the page's own: nothing to close)
  const closeButton = (): HTMLButtonElement | null => ctx.layout === 'embedded' ? null : h('button', { type: 'button', className: 'icon-btn', 'aria-label': t.close, onclick: () => ctx.close() }, icon('close'))
  const title = h('h2', { id: 'mq-title' }, ctx.title ?? t.chat)
  const greeting = ctx.greeting !== undefined && ctx.greeting !== '' ? h('p', { className: 'greeting' }, ctx.greeting) : null
  const closeBtn = closeButton()
  // SPEC §10.1: the visitor's opt-in to notifications while the page is closed, and what became of it
  const pushNote = h('p', { className: 'note', role: 'status' })
  const notify = pushToggle(ctx, u, h, (text) => { pushNote.textContent = text })
  const mainHead = h('div', { className: 'head main' }, h('div', { className: 'brand' }, title, greeting), notify, closeBtn)
  const banner = h('p', { className: 'banner', role: 'status' })
  const list = h('ul', { className: 'contacts', 'aria-label': t.contacts })
  const moreBtn = h('button', { type: 'button', className: 'more', hidden: true }, t.moreOnline)
  const contactsView = h('div', { className: 'view list-view' }, list, moreBtn)
  const panel = h('div', { className: 'panel', role: 'dialog', 'aria-labelledby': 'mq-title' }, mainHead, banner, pushNote, contactsView)
  panel.addEventListener('keydown', (e: KeyboardEvent) => { if (e.key === 'Escape') { e.stopPropagation(); ctx.close() } })
  ctx.mount.append(panel)

  const showBanner = (s: string): void => { banner.textContent = s === 'offline' ? t.offline : s === 'connecting' ? t.connecting : '' }
  showBanner(chat.state)
  chat.on('connection', showBanner)

  // --- a picture, larger, over the panel ---
  const viewer = (src: string, from: HTMLElement): void => {
    const close = (): void => { box.remove(); from.focus() }
    const shut = h('button', { type: 'button', className: 'icon-btn', 'aria-label': t.close, onclick: close }, icon('close'))
    const box = h('div', { className: 'viewer', role: 'dialog', 'aria-modal': 'true', 'aria-label': t.picture },
      h('img', { src, alt: t.picture }), shut)
    box.addEventListener('keydown', (e: KeyboardEvent) => { if (e.key === 'Escape') { e.stopPropagation(); close() } })
    box.addEventListener('click', (e) => { if (e.target === box) close() })
    panel.append(box)
    shut.focus()
  }
  const { body, preview, time, day } = bodies(ctx, u, viewer)
  // SPEC §10.2: calls, over the panel (ui/calls.ts)
  const calls = mountCalls(ctx, panel, u, (peer) => {
    const c = contacts.get(peer) ?? { userid: peer, name: t.user(peer), avatar: null, status: 'online', peerReadUpTo: 0, readUpTo: 0, lastId: 0, last: null }
    return { name: c.name, face: () => avatarEl(c, false) }
  })

  // --- contacts ---
  const nameOf = (id: number): string => contacts.get(id)?.name ?? t.user(id)
  const avatarEl = (c: Contact, withDot: boolean): HTMLElement => {
    const src = safeUrl(c.avatar)
    const face = src !== null
      ? h('img', { className: 'face', src, alt: '' })
      : h('span', { className: 'face', 'aria-hidden': 'true' }, (c.name.trim()[0] ?? '?').toUpperCase())
    return h('span', { className: 'avatar' }, face, withDot ? h('span', { className: `dot ${c.status}`, 'aria-hidden': 'true' }) : null)
  }
  /** a message's time in the contact list: today its time, else its day */
  const when = (sec: number): string => dayOf(sec) === dayOf(Date.now() / 1000) ? time(sec) : new Date(sec * 1000).toLocaleDateString(ctx.lang, { day: 'numeric', month: 'short' })
  const statusText = (s: string): string => t.status[s] ?? s
  const drawContacts = (): void => {
    // Redrawn on every presence change: the contact that had focus keeps it.
    const had = (ctx.root.activeElement as HTMLElement | null)?.dataset?.userid
    const rows = [...contacts.values()].sort((a, b) => (b.lastId - a.lastId) || ((a.status === 'offline' ? 1 : 0) - (b.status === 'offline' ? 1 : 0)) || a.name.localeCompare(b.name))
    list.replaceChildren(...rows.map((c) => {
      const n = ctx.unreadOf(c.userid)
      // The presence is said once: as the second line when there is no message yet, else to
      // screen readers beside the dot.
      const second = c.last !== null
        ? h('span', { className: 'preview', dir: 'auto' }, h('span', { className: 'sr' }, `${statusText(c.status)}. `), c.last.mine ? `${t.you}: ` : '', preview(c.last.message))
        : h('span', { className: 'preview' }, statusText(c.status))
      return h('li', { className: n > 0 ? 'unread' : undefined },
        h('button', { type: 'button', 'data-userid': String(c.userid), onclick: () => void openConversation(c.userid) },
          avatarEl(c, true),
          h('span', { className: 'who' },
            h('span', { className: 'line' }, h('span', { className: 'name' }, c.name), c.last !== null && c.last.message.timestamp > 0 ? h('span', { className: 'when' }, when(c.last.message.timestamp)) : null),
            h('span', { className: 'line' }, second,
              n > 0 ? h('span', { className: 'count' }, h('span', { 'aria-hidden': 'true' }, n > 99 ? '99+' : String(n)), h('span', { className: 'sr' }, t.unread(n))) : null))))
    }))
    if (rows.length === 0) list.replaceChildren(h('li', { className: 'empty' }, t.noContacts))
    if (had !== undefined) list.querySelector<HTMLButtonElement>(`button[data-userid="${had}"]`)?.focus()
  }
  const upsert = (p: Profile, extra: Partial<Contact> = {}): Contact => {
    if (p.userid === chat.userid) return { userid: p.userid, name: t.you, avatar: null, status: 'online', peerReadUpTo: 0, readUpTo: 0, lastId: 0, last: null }
    const old = contacts.get(p.userid)
    const c: Contact = {
      userid: p.userid,
      name: p.name ?? old?.name ?? t.user(p.userid),
      avatar: p.avatar ?? old?.avatar ?? null,
      status: p.status ?? old?.status ?? 'offline',
      peerReadUpTo: old?.peerReadUpTo ?? 0,
      readUpTo: old?.readUpTo ?? 0,
      lastId: old?.lastId ?? 0,
      last: old?.last ?? null,
      ...extra
    }
    contacts.set(p.userid, c)
    chat.watch(p.userid)
    return c
  }
  /** A newer message of a conversation: its row moves up with it as its preview. */
  const lastOf = (peer: number, m: MessageEvent): void => {
    const c = contacts.get(peer)
    if (c === undefined || m.message.id < c.lastId) return
    c.lastId = m.message.id
    c.last = { mine: m.from_userid === chat.userid, message: m.message }
  }
  let nextOnline: number | null = null
  const loadOnline = async (): Promise<void> => {
    const page = await chat.onlineUsers({ after: nextOnline ?? undefined, limit: 50 })
    for (const p of page.users) upsert(p)
    nextOnline = page.next ?? null
    moreBtn.hidden = nextOnline === null
    drawContacts()
  }
  moreBtn.addEventListener('click', () => { void loadOnline() })
  // The list: the user's conversations, its friends (SPEC §10.3; in a domain whose contacts
  // are friends the server lists only them as online users too), and who is online.
  const loadContacts = async (): Promise<void> => {
    const [convs, friends]: [Conversation[], Profile[]] = await Promise.all([ctx.conversations(), chat.friends()])
    for (const c of convs) {
      upsert(c.peer, { peerReadUpTo: c.peerReadUpTo, readUpTo: c.readUpTo })
      if (c.last !== undefined && c.last !== null) lastOf(c.peer.userid, c.last)
    }
    for (const f of friends) upsert(f)
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
    if (conv?.peer === p.userid) {
      conv.status.textContent = statusText(p.status)
      conv.dot.className = `dot ${p.status}`
    }
  })

  // --- a conversation ---
  interface Open {
    peer: number
    region: HTMLElement
    log: HTMLOListElement
    status: HTMLElement
    dot: HTMLElement
    typing: HTMLElement
    input: HTMLTextAreaElement
    older: HTMLButtonElement
    oldest: number | null
    items: Map<number, HTMLLIElement>
    typingTimer: ReturnType<typeof setTimeout> | null
    release: () => void
    paged: boolean
    /** the list is at its bottom: what comes (a message, a picture that loads) keeps it there */
    pinned: boolean
  }
  let conv: Open | null = null

  const tick = (li: HTMLElement, state: 'sending' | 'sent' | 'read' | 'failed'): void => {
    const meta = li.querySelector('.tick')
    if (meta === null) return
    const glyph = icon(state === 'read' ? 'checks' : state === 'sent' ? 'check' : state === 'failed' ? 'alert' : 'clock', 14)
    const text = state === 'read' ? t.read : state === 'sent' ? t.sent : state === 'failed' ? t.failed : t.sending
    meta.replaceChildren(glyph, h('span', { className: 'sr' }, text))
    li.dataset.state = state
  }

  const messageItem = (m: MessageEvent | { from_userid: number, message: Message }, state?: 'sending' | 'sent' | 'read'): HTMLLIElement => {
    const mine = m.from_userid === chat.userid
    const kind = m.message.type === 5 ? ' notice' : m.message.type === 1 ? ' bare' : (m.message.type === 2 || m.message.type === 4) ? ' media' : ''
    const li = h('li', { className: `msg${mine ? ' mine' : ''}${kind}` },
      h('span', { className: 'sr' }, `${mine ? t.you : nameOf(m.from_userid)}: `),
      body(m.message),
      h('span', { className: 'meta' }, m.message.timestamp > 0 ? time(m.message.timestamp) : '', mine && m.message.type !== 5 ? h('span', { className: 'tick' }) : null))
    li.dataset.from = String(m.from_userid)
    li.dataset.ts = String(m.message.timestamp)
    if (mine) tick(li, state ?? 'sent')
    return li
  }

  /**
   * Day separators and groups, from the messages in order: a separator before the first
   * message of each day, and a message that follows one of the same sender within minutes
   * joins its group (drawn closer, its bubble's corner squared).
   */
  const decorate = (o: Open): void => {
    for (const d of o.log.querySelectorAll(':scope > li.day')) d.remove()
    const items = [...o.log.querySelectorAll<HTMLLIElement>(':scope > li.msg')]
    const ts = items.map((li) => Number(li.dataset.ts) || Date.now() / 1000)
    const joins = items.map((li, i) => {
      const prev = items[i - 1]
      return prev !== undefined && dayOf(ts[i - 1]!) === dayOf(ts[i]!) && prev.dataset.from === li.dataset.from &&
        !li.classList.contains('notice') && !prev.classList.contains('notice') && ts[i]! - ts[i - 1]! < GROUP_S
    })
    items.forEach((li, i) => {
      if (i === 0 || dayOf(ts[i - 1]!) !== dayOf(ts[i]!)) li.before(h('li', { className: 'day' }, h('span', {}, day(ts[i]!))))
      li.classList.toggle('cont', joins[i]!)
      li.classList.toggle('ends', joins[i + 1] !== true)
    })
    o.log.classList.toggle('empty-log', items.length === 0)
  }

  const isRead = (c: Contact | undefined, id: number): boolean => c !== undefined && id <= c.peerReadUpTo

  const place = (o: Open, m: MessageEvent): void => {
    if (o.items.has(m.message.id)) return
    const mine = m.from_userid === chat.userid
    const li = messageItem(m, mine && isRead(contacts.get(o.peer), m.message.id) ? 'read' : 'sent')
    o.items.set(m.message.id, li)
    li.dataset.id = String(m.message.id)
    // In id order: history pages come older, live messages newer.
    const after = [...o.log.querySelectorAll<HTMLElement>(':scope > li.msg')].find((x) => Number(x.dataset.id ?? Infinity) > m.message.id)
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
    decorate(o)
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
    decorate(o)
    scrollDown(o)
    done?.then((event) => {
      li.remove()
      if (conv === o) { place(o, event); decorate(o); scrollDown(o) }
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
    done.then((event) => { lastOf(peer, event) }, () => {})
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
    const log = h('ol', { className: 'log', 'aria-label': c.name, tabindex: '0', 'data-empty': u.noMessages })
    const older = h('button', { type: 'button', className: 'more', hidden: true }, t.older)
    const status = h('span', { className: 'presence' }, statusText(c.status))
    const avatar = avatarEl(c, true)
    const dot = avatar.querySelector<HTMLElement>('.dot')!
    const typing = h('p', { className: 'typing', 'aria-live': 'polite' })
    const back = h('button', { type: 'button', className: 'icon-btn back', 'aria-label': t.back, onclick: () => showContacts() }, icon('back'))
    // (`o`, made below, is reached only once the visitor sends)
    const { form, input, release } = composer(ctx, peer, (text, type) => sendNow(o, text, type))
    // The header's own actions (issue 16 puts its call and notification buttons here), before Close.
    const actions = h('div', { className: 'actions', 'data-slot': 'actions' }, ...calls.buttons(peer))
    const region = h('section', { className: 'view conv', 'aria-label': c.name },
      h('div', { className: 'head' }, back, avatar, h('span', { className: 'who' }, h('span', { className: 'name' }, c.name), status), actions, closeButton()),
      older, log, typing, form)
    const o: Open = { peer, region, log, status, dot, typing, input, older, oldest: null, items: new Map(), typingTimer: null, release: () => {}, paged: false, pinned: true }
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
    // The list shrinks (the field grows, a phone's keyboard opens): at the bottom it stays there.
    new ResizeObserver(() => { if (o.pinned) scrollDown(o) }).observe(log)
    o.release = release
    contactsView.hidden = true
    mainHead.hidden = true
    listOnScreen(false)
    panel.querySelector('section.conv')?.remove()
    panel.querySelector('.viewer')?.remove()
    panel.append(region)
    // What this user wrote to peer and the client has not stored yet (written offline, say).
    for (const p of chat.pending()) if (p.to_userid === peer) drawSending(o, p.message, p.type, sending.get(p.cid))
    decorate(o)
    input.focus()
    await loadFirst(o).catch(() => {})
  }

  const showContacts = (): void => {
    const was = conv?.peer
    opening++
    conv?.release()
    panel.querySelector('section.conv')?.remove()
    panel.querySelector('.viewer')?.remove()
    conv = null
    ctx.activePeer = null
    contactsView.hidden = false
    mainHead.hidden = false
    listOnScreen(true)
    drawContacts()
    const btn = was === undefined ? null : list.querySelector<HTMLButtonElement>(`button[data-userid="${was}"]`)
    ;(btn ?? list.querySelector('button') ?? closeBtn ?? list).focus()
  }

  chat.on('message', (m) => {
    const peer = m.from_userid === chat.userid ? m.to_userid : m.from_userid
    lastOf(peer, m)
    if (conv !== null && conv.peer === peer) {
      place(conv, m)
      decorate(conv)
      if (conv.pinned || m.from_userid === chat.userid) scrollDown(conv)
      if (m.from_userid === peer) {
        conv.typing.textContent = ''
        markRead()
      }
    }
    if (m.from_userid !== chat.userid) {
      if (!contacts.has(peer)) void chat.profile(peer).then((p) => { upsert(p); lastOf(peer, m); drawContacts() }).catch(() => {})
      ctx.announce(t.newMessage(nameOf(peer), preview(m.message)))
    }
    drawContacts()
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
    ring: (call) => calls.ring(call),
    async open (userid?: number) {
      contactsLoaded ??= loadContacts().catch(() => { contactsLoaded = null })
      if (userid !== undefined) { await openConversation(userid); return }
      if (conv !== null) { ctx.activePeer = conv.peer; conv.input.focus(); markRead(); return }
      listOnScreen(true)
      await contactsLoaded
      drawContacts()
      // Docked, focus moves into the panel just opened; embedded, the page keeps its own.
      if (ctx.layout === 'docked') (list.querySelector('button') ?? closeBtn)?.focus()
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
