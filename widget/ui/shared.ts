// What the panel's two rooms, the contact list (contacts.ts) and the open conversation
// (conversation.ts), share: ui.ts makes it once and hands it to both. Types only.
import type { MessageEvent } from '../../client/index.ts'
import type { WidgetContext } from '../context.ts'
import type { Bodies } from './messages.ts'
import type { UiStrings } from './strings.ts'

export type Message = MessageEvent['message']

export interface Contact {
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

export interface Shared {
  ctx: WidgetContext
  u: UiStrings
  panel: HTMLElement
  /** the panel's head over the list (title, notifications, Close): hidden in a conversation */
  mainHead: HTMLElement
  /** the head's Close (none when embedded), where focus goes when the list has no one */
  closeBtn: HTMLButtonElement | null
  /** a Close for a head (embedded in the page, the panel is the page's own: none) */
  closeButton: () => HTMLButtonElement | null
  /** everyone the list knows, by userid; the conversation reads and moves its read marks */
  contacts: Map<number, Contact>
  /** how messages, times and days look (messages.ts) */
  look: Bodies
}
