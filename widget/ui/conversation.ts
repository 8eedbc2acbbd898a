// The open conversation, the panel's second room (SPEC §9): a header with the peer (avatar,
// presence, calls, Back), the history with older pages on scroll and day separators, read
// ticks on this user's messages, the peer's typing, and the composer (composer.ts). What the
// visitor sends is drawn at once, `Sending`, until the server has stored it.
import type { MessageEvent } from '../../client/index.ts'
import type { CallUi } from './calls.ts'
import { composer } from './composer.ts'
import { avatarEl, statusText, type ContactsRoom } from './contacts.ts'
import { h } from './dom.ts'
import { icon } from './icons.ts'
import { dayOf } from './messages.ts'
import type { Contact, Message, Shared } from './shared.ts'

const TYPING_LAPSE_MS = 5000
const PAGE = 30
/** Messages of one sender closer than this in time are drawn as one group of bubbles. */
const GROUP_S = 5 * 60

export interface ConversationRoom {
  open: (peer: number) => Promise<void>
  /** the panel opens again: the conversation left drawn takes focus back (false: there is none) */
  resume: () => boolean
  /** the panel hides */
  hide: () => void
}

interface Open {
  peer: number
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

export function mountConversation (s: Shared, people: ContactsRoom, calls: CallUi): ConversationRoom {
  const { ctx, panel, contacts, look } = s
  const { chat, t } = ctx
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
      h('span', { className: 'sr' }, `${mine ? t.you : people.nameOf(m.from_userid)}: `),
      look.body(m.message),
      h('span', { className: 'meta' }, m.message.timestamp > 0 ? look.time(m.message.timestamp) : '', mine && m.message.type !== 5 ? h('span', { className: 'tick' }) : null))
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
      if (i === 0 || dayOf(ts[i - 1]!) !== dayOf(ts[i]!)) li.before(h('li', { className: 'day' }, h('span', {}, look.day(ts[i]!))))
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
    people.draw()
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
   * This user's messages on their way (the client's unsent sends, chat.pending()), by cid: a
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
    // send() has put it last among the client's unsent sends: its cid ties it to this promise.
    const p = chat.pending().at(-1)
    if (p !== undefined && p.to_userid === peer && p.message === text) {
      sending.set(p.cid, done)
      done.then(() => sending.delete(p.cid), () => sending.delete(p.cid))
    }
    done.then((event) => { people.lastOf(peer, event) }, () => {})
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

  /** The conversation's section and a picture over it, out of the panel. */
  const clear = (): void => { panel.querySelector('section.conv')?.remove(); panel.querySelector('.viewer')?.remove() }

  const open = async (peer: number): Promise<void> => {
    const turn = ++opening
    if (!contacts.has(peer)) {
      const p = await chat.profile(peer).catch(() => ({ userid: peer, name: null, avatar: null, link: null, status: 'offline', timestamp: null }))
      if (turn !== opening) return
      people.upsert(p)
    }
    const c = contacts.get(peer)!
    const log = h('ol', { className: 'log', 'aria-label': c.name, tabindex: '0', 'data-empty': s.u.noMessages })
    const older = h('button', { type: 'button', className: 'more', hidden: true }, t.older)
    const status = h('span', { className: 'presence' }, statusText(t, c.status))
    const avatar = avatarEl(c, true)
    const dot = avatar.querySelector<HTMLElement>('.dot')!
    const typing = h('p', { className: 'typing', 'aria-live': 'polite' })
    const back = h('button', { type: 'button', className: 'icon-btn back', 'aria-label': t.back, onclick: () => showContacts() }, icon('back'))
    // (`o`, made below, is reached only once the visitor sends)
    const { form, input, release } = composer(ctx, peer, (text, type) => sendNow(o, text, type))
    // The header's own actions (issue 16 puts its call and notification buttons here), before Close.
    const actions = h('div', { className: 'actions', 'data-slot': 'actions' }, ...calls.buttons(peer))
    const region = h('section', { className: 'view conv', 'aria-label': c.name },
      h('div', { className: 'head' }, back, avatar, h('span', { className: 'who' }, h('span', { className: 'name' }, c.name), status), actions, s.closeButton()),
      older, log, typing, form)
    const o: Open = { peer, log, status, dot, typing, input, older, oldest: null, items: new Map(), typingTimer: null, release: () => {}, paged: false, pinned: true }
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
    people.show(false)
    clear()
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
    clear()
    conv = null
    ctx.activePeer = null
    people.show(true, was)
  }

  // A message: its row in the list moves up, the conversation open on its peer shows it, and
  // one from someone else is said to screen readers (someone new joins the list).
  chat.on('message', (m) => {
    const peer = m.from_userid === chat.userid ? m.to_userid : m.from_userid
    people.lastOf(peer, m)
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
      if (!contacts.has(peer)) void chat.profile(peer).then((p) => { people.upsert(p); people.lastOf(peer, m); people.draw() }).catch(() => {})
      ctx.announce(t.newMessage(people.nameOf(peer), look.preview(m.message)))
    }
    people.draw()
  })

  chat.on('presence', (p) => {
    // (after the list's own listener, contacts.ts; this user is never a contact)
    if (conv?.peer !== p.userid || !contacts.has(p.userid)) return
    conv.status.textContent = statusText(t, p.status)
    conv.dot.className = `dot ${p.status}`
  })

  // Back online: a conversation opened while offline gets its history.
  chat.on('connection', (state) => { if (state === 'online' && conv !== null && !conv.paged) void loadFirst(conv).catch(() => {}) })

  chat.on('typing', ({ from_userid: from }) => {
    if (conv === null || conv.peer !== from) return
    const o = conv
    o.typing.textContent = t.typing(people.nameOf(from))
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

  return {
    open,
    resume () {
      if (conv === null) return false
      ctx.activePeer = conv.peer; conv.input.focus(); markRead()
      return true
    },
    hide () {
      // The conversation stays drawn for the next open; its messages count as unread meanwhile.
      // Its camera and microphone go off, and a record in progress is dropped: nothing is sent
      // from a closed panel.
      opening++
      people.onScreen(false)
      if (conv !== null) { ctx.activePeer = null; conv.release() }
    }
  }
}
