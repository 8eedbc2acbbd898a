// widget-ui.js: the conversation interface, loaded on the first open (SPEC §9). One view at a
// time in the panel: the contact list (names, avatars, presence, the last message and its
// time, unread counts), or one conversation filling it (a header with the peer, the history
// with older pages on scroll, the composer with emoji, stickers, pictures and voice), with
// typing, read ticks and a banner while offline. This builds the panel and holds what its
// rooms share (ui/shared.ts: the contacts known, the panel's parts). Rooms: ui/contacts.ts
// (the list), ui/conversation.ts (the open conversation), ui/composer.ts (the field, Send and
// ui/media.ts's tools), ui/calls.ts (calls); pieces: ui/dom.ts (elements), ui/icons.ts (inline
// SVG), ui/messages.ts (how each kind of message looks).
// User text is always put in the page as text (textContent), never as HTML.
import type { WidgetContext, WidgetUi } from './context.ts'
import { pushToggle } from './push.ts'
import { mountCalls } from './ui/calls.ts'
import { avatarEl, mountContacts, someone } from './ui/contacts.ts'
import { mountConversation } from './ui/conversation.ts'
import { h } from './ui/dom.ts'
import { icon } from './ui/icons.ts'
import { bodies } from './ui/messages.ts'
import type { Contact, Shared } from './ui/shared.ts'
import { UI_STRINGS } from './ui/strings.ts'
import { PANEL_CSS } from './ui/styles.ts'

export { h } from './ui/dom.ts'

export function mountUi (ctx: WidgetContext): WidgetUi {
  const { chat, t } = ctx
  const u = UI_STRINGS[ctx.lang]
  const style = document.createElement('style')
  style.textContent = PANEL_CSS
  ctx.root.append(style)

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
  // (the contact list goes in below, once its room is made)
  const panel = h('div', { className: 'panel', role: 'dialog', 'aria-labelledby': 'mq-title' }, mainHead, banner, pushNote)
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
  const look = bodies(ctx, u, viewer)
  const contacts = new Map<number, Contact>()
  // SPEC §10.2: calls, over the panel (ui/calls.ts)
  const calls = mountCalls(ctx, panel, u, (peer) => {
    const c = contacts.get(peer) ?? someone(peer, t.user(peer))
    return { name: c.name, face: () => avatarEl(c, false) }
  })

  const s: Shared = { ctx, u, panel, mainHead, closeBtn, closeButton, contacts, look }
  const people = mountContacts(s, (peer) => { void talk.open(peer) })
  const talk = mountConversation(s, people, calls)

  return {
    ring: (call) => calls.ring(call),
    async open (userid?: number) {
      const loaded = people.loaded()
      if (userid !== undefined) { await talk.open(userid); return }
      if (talk.resume()) return
      people.onScreen(true)
      await loaded
      people.draw()
      // Docked, focus moves into the panel just opened; embedded, the page keeps its own.
      if (ctx.layout === 'docked') (people.list.querySelector('button') ?? closeBtn)?.focus()
    },
    hide: talk.hide
  }
}
