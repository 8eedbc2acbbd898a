// The contact list, the panel's first room (SPEC §9): the visitor's conversations, its friends
// and who is online, each with its avatar and presence, the last message and its time, and
// its unread count; redrawn as presence and messages come. ui.ts shows it; a row opens the
// conversation (conversation.ts).
import type { Conversation, MessageEvent, Profile } from '../../client/index.ts'
import type { Strings } from '../i18n.ts'
import { h, safeUrl } from './dom.ts'
import { dayOf } from './messages.ts'
import type { Contact, Shared } from './shared.ts'

export interface ContactsRoom {
  list: HTMLUListElement
  nameOf: (id: number) => string
  /** a profile into the list (its presence watched), what is known of it kept */
  upsert: (p: Profile, extra?: Partial<Contact>) => Contact
  /** A newer message of a conversation: its row moves up with it as its preview. */
  lastOf: (peer: number, m: MessageEvent) => void
  draw: () => void
  /** the conversations, friends and the first page of who is online: loaded on the first call */
  loaded: () => Promise<void>
  /** the list is on screen: the domain's presence is watched (chat.watchAll) */
  onScreen: (on: boolean) => void
  /**
   * The list in the panel again, focus on the row of the conversation left (was), or a
   * conversation over it (on false): the panel's head and the list hidden, presence not watched.
   */
  show: (on: boolean, was?: number) => void
}

/** Someone the list has no profile of (this user, a caller not yet known): online, no messages. */
export const someone = (userid: number, name: string): Contact => ({ userid, name, avatar: null, status: 'online', peerReadUpTo: 0, readUpTo: 0, lastId: 0, last: null })

/** a presence as words: Online, Away… */
export const statusText = (t: Strings, s: string): string => t.status[s] ?? s

export const avatarEl = (c: Contact, withDot: boolean): HTMLElement => {
  const src = safeUrl(c.avatar)
  const face = src !== null
    ? h('img', { className: 'face', src, alt: '' })
    : h('span', { className: 'face', 'aria-hidden': 'true' }, (c.name.trim()[0] ?? '?').toUpperCase())
  return h('span', { className: 'avatar' }, face, withDot ? h('span', { className: `dot ${c.status}`, 'aria-hidden': 'true' }) : null)
}

export function mountContacts ({ ctx, panel, mainHead, closeBtn, contacts, look }: Shared, open: (peer: number) => void): ContactsRoom {
  const { chat, t } = ctx
  const list = h('ul', { className: 'contacts', 'aria-label': t.contacts })
  const moreBtn = h('button', { type: 'button', className: 'more', hidden: true }, t.moreOnline)
  const view = h('div', { className: 'view list-view' }, list, moreBtn)
  panel.append(view)

  const nameOf = (id: number): string => contacts.get(id)?.name ?? t.user(id)
  /** a message's time in the contact list: today its time, else its day */
  const when = (sec: number): string => dayOf(sec) === dayOf(Date.now() / 1000) ? look.time(sec) : new Date(sec * 1000).toLocaleDateString(ctx.lang, { day: 'numeric', month: 'short' })
  const draw = (): void => {
    // Redrawn on every presence change: the contact that had focus keeps it.
    const had = (ctx.root.activeElement as HTMLElement | null)?.dataset?.userid
    const rows = [...contacts.values()].sort((a, b) => (b.lastId - a.lastId) || ((a.status === 'offline' ? 1 : 0) - (b.status === 'offline' ? 1 : 0)) || a.name.localeCompare(b.name))
    list.replaceChildren(...rows.map((c) => {
      const n = ctx.unreadOf(c.userid)
      // The presence is said once: as the second line when there is no message yet, else to
      // screen readers beside the dot.
      const second = c.last !== null
        ? h('span', { className: 'preview', dir: 'auto' }, h('span', { className: 'sr' }, `${statusText(t, c.status)}. `), c.last.mine ? `${t.you}: ` : '', look.preview(c.last.message))
        : h('span', { className: 'preview' }, statusText(t, c.status))
      return h('li', { className: n > 0 ? 'unread' : undefined },
        h('button', { type: 'button', 'data-userid': String(c.userid), onclick: () => open(c.userid) },
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
    if (p.userid === chat.userid) return someone(p.userid, t.you)
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
    draw()
  }
  moreBtn.addEventListener('click', () => { void loadOnline() })
  // The list: the user's conversations, its friends (SPEC §10.3; in a domain whose contacts
  // are friends the server lists only them as online users too), and who is online.
  const load = async (): Promise<void> => {
    const [convs, friends]: [Conversation[], Profile[]] = await Promise.all([ctx.conversations(), chat.friends()])
    for (const c of convs) {
      upsert(c.peer, { peerReadUpTo: c.peerReadUpTo, readUpTo: c.readUpTo })
      if (c.last !== undefined && c.last !== null) lastOf(c.peer.userid, c.last)
    }
    for (const f of friends) upsert(f)
    nextOnline = null
    await loadOnline()
  }
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
  let contactsLoaded: Promise<void> | null = null
  const loaded = (): Promise<void> => (contactsLoaded ??= load().catch(() => { contactsLoaded = null }))
  // After a reconnect the contacts' counts and presence may have moved on.
  chat.on('connection', (s) => { if (s === 'online' && contactsLoaded !== null) void load().catch(() => {}) })
  const onScreen = (on: boolean): void => { chat.watchAll(on) }
  const show = (on: boolean, was?: number): void => {
    view.hidden = !on
    mainHead.hidden = !on
    onScreen(on)
    if (!on) return
    draw()
    const btn = was === undefined ? null : list.querySelector<HTMLButtonElement>(`button[data-userid="${was}"]`)
    ;(btn ?? list.querySelector('button') ?? closeBtn ?? list).focus()
  }

  // (the open conversation's header follows presence too: conversation.ts)
  chat.on('presence', (p) => {
    if (p.userid === chat.userid) return
    const c = contacts.get(p.userid)
    if (c === undefined) { if (p.status !== 'offline') someoneNew(); return }
    c.status = p.status
    draw()
  })

  return { list, nameOf, upsert, lastOf, draw, loaded, onScreen, show }
}
