// What the loader (widget.js) hands the interface (widget-ui.js) on first open. Types only.
import type { Call, Chat, Conversation } from '../client/index.ts'
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
  /** the tag's data-title and data-greeting, if set */
  title?: string
  greeting?: string
  /** unread count per peer, kept by the loader (widget/unread.ts) */
  unreadOf: (peer: number) => number
  /** the user has seen peer's messages up to upTo (on screen): none of them counts */
  read: (peer: number, upTo: number) => void
  /** the user's conversations (the server's answer), their unread counts applied on the way */
  conversations: () => Promise<Conversation[]>
  /** the peer whose conversation is on screen, if any: its messages do not count as unread */
  activePeer: number | null
  /** announce text to screen readers (a polite live region) */
  announce: (text: string) => void
  /** the launcher, to give focus back on close */
  launcher: HTMLButtonElement | null
  close: () => void
  /**
   * SPEC §10.1: the service worker's URL on the page's origin (the tag's data-service-worker,
   * or the server's /sw.js when the page is on the server's origin); null: no web push here.
   */
  serviceWorker: string | null
}

export interface WidgetUi {
  open: (userid?: number) => Promise<void>
  hide: () => void
  /** SPEC §10.2: an incoming call rings (the panel is open on the caller's conversation) */
  ring: (call: Call) => void
}
