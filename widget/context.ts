// What the loader (widget.js) hands the interface (widget-ui.js) on first open. Types only.
import type { Chat } from '../client/index.ts'
import type { Lang, Strings } from './i18n.ts'

export interface WidgetContext {
  chat: Chat
  base: string
  lang: Lang
  t: Strings
  root: ShadowRoot
  /** where the panel goes (inside the shadow root) */
  mount: HTMLElement
  layout: 'docked' | 'embedded'
  /** unread count per peer, kept by the loader */
  unread: Map<number, number>
  setUnread: (peer: number, n: number) => void
  /** the peer whose conversation is on screen, if any: its messages do not count as unread */
  activePeer: number | null
  /** announce text to screen readers (a polite live region) */
  announce: (text: string) => void
  /** the launcher, to give focus back on close */
  launcher: HTMLButtonElement | null
  close: () => void
}

export interface WidgetUi {
  open: (userid?: number) => Promise<void>
  hide: () => void
}
