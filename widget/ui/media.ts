// The composer's tools (SPEC §9): emoji, stickers (type 1, served by the server), a picture
// from disk (`Attach`, type 2), from the camera (type 4) and a voice record (type 3). Pictures
// and records go up through the files API (SPEC §8) and their URL is sent as the message.
import type { WidgetContext } from '../context.ts'
import type { h as H } from './dom.ts'
import { recordType } from '../record-type.ts'
import { icon } from './icons.ts'

/** Text smileys, for a system without an emoji font (where emoji would show as empty boxes). */
const SMILEYS = [':-)', ';-)', ':-D', ':-(', ':-P', ':-O', '<3', '^_^', 'o/', '+1']
const EMOJI = ['😀', '😂', '😊', '😍', '😉', '😎', '🤔', '😢', '😮', '👍', '👎', '👏', '🙏', '🎉', '❤️', '🔥', '✅', '👋', '☕', '🌟']
/** The server's own stickers (widget/stickers/). */
const STICKERS = ['smile', 'heart', 'star', 'thumbs-up', 'party', 'coffee']
/** Longest voice record, as the product's: a message, not a podcast. */
const MAX_RECORD_MS = 120_000

let canDrawEmoji: boolean | undefined
/** Whether this system draws emoji in colour (it has an emoji font): one glyph drawn on a canvas. */
function emojiDrawn (): boolean {
  if (canDrawEmoji !== undefined) return canDrawEmoji
  canDrawEmoji = true
  try {
    const c = document.createElement('canvas')
    c.width = c.height = 20
    const g = c.getContext('2d', { willReadFrequently: true })
    if (g === null) return canDrawEmoji
    g.font = '16px "Noto Color Emoji","Apple Color Emoji","Segoe UI Emoji",sans-serif'
    g.textBaseline = 'top'
    g.fillText('\u{1F600}', 0, 0)
    const px = g.getImageData(0, 0, 20, 20).data
    let colour = false
    for (let i = 0; i < px.length && !colour; i += 4) colour = px[i + 3]! > 0 && (Math.abs(px[i]! - px[i + 1]!) > 30 || Math.abs(px[i + 1]! - px[i + 2]!) > 30)
    canDrawEmoji = colour
  } catch {}
  return canDrawEmoji
}

/**
 * Puts the tools in the composer. Returns release(): the camera and the microphone go off and a
 * record in progress is dropped, never sent; called when the conversation is left or the panel
 * closes (the tools stay usable for the next open).
 */
export function attachTools (ctx: WidgetContext, form: HTMLFormElement, input: HTMLTextAreaElement,
  io: { send: (text: string, type: number) => void, h: typeof H }): () => void {
  const { t, chat } = ctx
  const h = io.h
  let picker: HTMLElement | null = null
  /** the camera's stream while its preview is open */
  let camera: MediaStream | null = null
  /**
   * Moves on with each close: a camera or microphone granted after it (the permission prompt
   * takes its time) belongs to a closed tool, and is stopped at once.
   */
  let generation = 0
  const stopTracks = (stream: MediaStream | null): void => { for (const tr of stream?.getTracks() ?? []) tr.stop() }
  const closePicker = (): void => {
    generation++
    stopTracks(camera)
    camera = null
    picker?.remove()
    picker = null
    for (const b of tools.querySelectorAll('[aria-expanded]')) b.setAttribute('aria-expanded', 'false')
  }
  const togglePicker = (btn: HTMLButtonElement, build: () => HTMLElement): void => {
    const open = picker !== null && btn.getAttribute('aria-expanded') === 'true'
    closePicker()
    if (open) return
    picker = build()
    btn.setAttribute('aria-expanded', 'true')
    form.before(picker)
    picker.querySelector('button')?.focus()
  }
  const failed = (err: unknown): void => {
    ctx.announce(t.uploadFailed)
    console.warn('mqchat: upload failed', err)
  }
  const upload = async (blob: Blob, type: number): Promise<void> => {
    try {
      const f = await chat.upload(blob)
      io.send(f.url, type)
    } catch (err) { failed(err) }
  }

  const emojiBtn = h('button', { type: 'button', 'aria-label': t.emoji, 'aria-expanded': 'false' }, icon('smile'))
  // Emoji only here, in the picker; a system that cannot draw them gets text smileys instead.
  emojiBtn.addEventListener('click', () => togglePicker(emojiBtn, () => h('div', { className: 'picker', role: 'group', 'aria-label': t.emoji },
    ...(emojiDrawn() ? EMOJI : SMILEYS).map((e) => h('button', {
      type: 'button',
      className: emojiDrawn() ? undefined : 'smiley',
      onclick: () => {
        const at = input.selectionStart ?? input.value.length
        input.value = input.value.slice(0, at) + e + input.value.slice(input.selectionEnd ?? at)
        closePicker(); input.focus()
      }
    }, e)))))

  const stickerBtn = h('button', { type: 'button', 'aria-label': t.stickers, 'aria-expanded': 'false' }, icon('sticker'))
  stickerBtn.addEventListener('click', () => togglePicker(stickerBtn, () => h('div', { className: 'picker', role: 'group', 'aria-label': t.stickers },
    ...STICKERS.map((s) => h('button', { type: 'button', onclick: () => { closePicker(); io.send(`${ctx.base}/stickers/${s}.svg`, 1); input.focus() } },
      h('img', { src: `${ctx.base}/stickers/${s}.svg`, alt: s.replace('-', ' ') }))))))

  // A picture from disk: the native file chooser, pictures only.
  const file = h('input', { type: 'file', accept: 'image/jpeg,image/png,image/gif,image/webp', hidden: true, tabindex: '-1', 'aria-hidden': 'true' })
  file.addEventListener('change', () => {
    const f = file.files?.[0]
    file.value = ''
    if (f !== undefined) void upload(f, 2)
  })
  const attachBtn = h('button', { type: 'button', 'aria-label': t.attach, onclick: () => file.click() }, icon('clip'))

  // A picture from the camera: a live preview, then one frame as JPEG.
  const camBtn = h('button', { type: 'button', 'aria-label': t.camera }, icon('camera'))
  camBtn.addEventListener('click', async () => {
    closePicker()
    const asked = generation
    let stream: MediaStream
    try { stream = await navigator.mediaDevices.getUserMedia({ video: true }) } catch (err) { failed(err); return }
    if (asked !== generation) { stopTracks(stream); return }
    camera = stream
    const video = h('video', { autoplay: true, playsinline: true, muted: true, 'aria-label': t.camera })
    video.srcObject = stream
    // (closing the preview, whatever closes it, turns the camera off: closePicker)
    const stop = (): void => { closePicker(); camBtn.focus() }
    const shoot = h('button', { type: 'button', className: 'primary' }, t.takePhoto)
    shoot.addEventListener('click', async () => {
      const canvas = document.createElement('canvas')
      canvas.width = video.videoWidth || 640
      canvas.height = video.videoHeight || 480
      canvas.getContext('2d')!.drawImage(video, 0, 0, canvas.width, canvas.height)
      stop()
      const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/jpeg', 0.85))
      if (blob !== null) await upload(blob, 4)
    })
    picker = h('div', { className: 'picker cam', role: 'group', 'aria-label': t.camera }, video, shoot, h('button', { type: 'button', onclick: stop }, t.cancel))
    form.before(picker)
    shoot.focus()
  })

  // A voice record: press to start, press again to stop and send (the only way one is sent).
  const recBtn = h('button', { type: 'button', 'aria-label': t.record, 'aria-pressed': 'false' }, icon('mic'))
  /** ends the record in progress: sent (keep) or dropped */
  let recording: ((keep: boolean) => void) | null = null
  let micAsked = 0
  recBtn.addEventListener('click', async () => {
    if (recording !== null) { recording(true); return }
    if (typeof MediaRecorder === 'undefined') { failed(new Error('no MediaRecorder')); return }
    const asked = ++micAsked
    let stream: MediaStream
    try { stream = await navigator.mediaDevices.getUserMedia({ audio: true }) } catch (err) { failed(err); return }
    if (asked !== micAsked) { stopTracks(stream); return }
    const mimeType = recordType((x) => MediaRecorder.isTypeSupported(x))
    const rec = new MediaRecorder(stream, mimeType === '' ? {} : { mimeType })
    const chunks: Blob[] = []
    rec.ondataavailable = (e) => { if (e.data.size > 0) chunks.push(e.data) }
    let send = true
    const end = (keep: boolean): void => {
      send &&= keep
      clearTimeout(limit)
      if (rec.state !== 'inactive') rec.stop()
      stopTracks(stream)
      if (recording !== end) return
      recording = null
      recBtn.setAttribute('aria-pressed', 'false')
      recBtn.setAttribute('aria-label', t.record)
      recBtn.replaceChildren(icon('mic'))
    }
    const limit = setTimeout(() => end(true), MAX_RECORD_MS)
    rec.onstop = () => {
      end(send)
      if (!send) return
      const blob = new Blob(chunks, { type: (rec.mimeType || mimeType || 'audio/webm').split(';')[0] })
      if (blob.size > 0) void upload(blob, 3)
    }
    recording = end
    rec.start(250)
    recBtn.setAttribute('aria-pressed', 'true')
    recBtn.setAttribute('aria-label', t.stopRecord)
    recBtn.replaceChildren(icon('stop'))
  })

  const tools = h('div', { className: 'tools' }, emojiBtn, stickerBtn, attachBtn, camBtn, recBtn, file)
  form.prepend(tools)
  return () => {
    closePicker()
    micAsked++
    recording?.(false)
  }
}
