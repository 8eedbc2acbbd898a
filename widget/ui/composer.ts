// A conversation's composer: the message field (it grows with what is written, up to a few
// lines, and sends on Enter; Shift+Enter is a new line), the Send button, the tools of
// media.ts (emoji, stickers, a picture, the camera, a voice record), and the typing notice
// sent to the peer while the visitor writes (at most every few seconds).
import type { WidgetContext } from '../context.ts'
import { attachTools } from './media.ts'
import { h } from './dom.ts'
import { icon } from './icons.ts'

const TYPING_EVERY_MS = 3000
/** When the last typing notice went out, whichever conversation it was for. */
let lastTypingSent = 0

export interface Composer {
  form: HTMLFormElement
  input: HTMLTextAreaElement
  /** The conversation left: its camera and microphone go off, a record in progress is dropped. */
  release: () => void
}

/** `send` gets what the visitor sends: text (type 0) or a file's url with its type (2-4), or a sticker (1). */
export function composer (ctx: WidgetContext, peer: number, send: (text: string, type?: number) => void): Composer {
  const { chat, t } = ctx
  const input = h('textarea', { id: 'mq-message', rows: '1', autocomplete: 'off', placeholder: `${t.message}…` })
  const form = h('form', { className: 'composer' },
    h('label', { for: 'mq-message', className: 'sr' }, t.message), input,
    h('button', { type: 'submit', className: 'primary send' }, icon('send', 18), h('span', {}, t.send)))
  form.addEventListener('submit', (e) => {
    e.preventDefault()
    const text = input.value.trim()
    if (text === '') return
    input.value = ''
    input.style.height = ''
    send(text)
  })
  input.addEventListener('keydown', (e: KeyboardEvent) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); form.requestSubmit() }
  })
  // The field grows with what is written, up to a few lines (its CSS max-height), and back.
  const fit = (): void => {
    input.style.height = ''
    if (input.scrollHeight > input.clientHeight) input.style.height = `${input.scrollHeight + 2}px`
  }
  input.addEventListener('input', () => {
    fit()
    if (Date.now() - lastTypingSent > TYPING_EVERY_MS && input.value !== '') { lastTypingSent = Date.now(); chat.typing(peer) }
  })
  const release = attachTools(ctx, form, input, { send: (url, type) => send(url, type), h })
  return { form, input, release }
}
