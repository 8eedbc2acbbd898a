// What a message looks like in a conversation (SPEC §9, the types of §4.2): text, a sticker,
// a picture as a thumbnail that opens larger, a voice record as a player with its length,
// a call notice as a line of its own; and the times and days around them.
import type { MessageEvent } from '../../client/index.ts'
import type { WidgetContext } from '../context.ts'
import { h, safeUrl } from './dom.ts'
import { icon } from './icons.ts'
import type { UiStrings } from './strings.ts'

type Message = MessageEvent['message']

/** A file of the files API (SPEC §8: …/files/{domain}/{id}) has a thumbnail beside it. */
const FILE_PATH = /\/files\/[^/]+\/[A-Za-z0-9_-]+$/

export interface Bodies {
  body: (m: Message) => Node
  /** a line for the contact list: the text, or what kind of message it is */
  preview: (m: Message) => string
  time: (sec: number) => string
  /** a day, as a separator says it: today, yesterday, or its date */
  day: (sec: number) => string
}

export function bodies (ctx: WidgetContext, u: UiStrings, viewer: (src: string, from: HTMLElement) => void): Bodies {
  const { t, lang } = ctx
  const picture = (url: string): Node => {
    const thumb = FILE_PATH.test(new URL(url).pathname) ? `${url}/thumbnail` : url
    const img = h('img', { src: thumb, alt: t.picture, loading: 'lazy' })
    // (a picture without a thumbnail: the picture itself)
    img.addEventListener('error', () => { if (img.src !== url) img.src = url }, { once: true })
    // A link to the picture itself (a new tab, a middle click), opened larger in the panel.
    const a = h('a', { href: url, target: '_blank', rel: 'noopener noreferrer', className: 'thumb', title: u.openPicture }, img)
    a.addEventListener('click', (e: MouseEvent) => { if (e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey) return; e.preventDefault(); viewer(url, a) })
    return a
  }
  const clock = (s: number): string => `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, '0')}`
  const voice = (url: string): Node => {
    const audio = h('audio', { preload: 'metadata', src: url })
    const play = h('button', { type: 'button', className: 'play', 'aria-label': u.play }, icon('play'))
    const bar = h('span', { className: 'bar' }, h('span', { className: 'fill' }))
    const len = h('span', { className: 'len' }, '')
    const showLength = (): void => { if (Number.isFinite(audio.duration)) len.textContent = clock(audio.duration) }
    audio.addEventListener('loadedmetadata', () => {
      // A record made by MediaRecorder as WebM does not say its length until read to the end.
      if (audio.duration === Infinity) { audio.currentTime = 1e9; audio.addEventListener('durationchange', () => { audio.currentTime = 0; showLength() }, { once: true }) } else showLength()
    })
    audio.addEventListener('timeupdate', () => {
      if (!Number.isFinite(audio.duration) || audio.duration === 0) return
      ;(bar.firstChild as HTMLElement).style.width = `${Math.min(100, audio.currentTime / audio.duration * 100)}%`
      if (!audio.paused) len.textContent = clock(audio.currentTime)
    })
    const show = (playing: boolean): void => {
      play.replaceChildren(icon(playing ? 'pause' : 'play'))
      play.setAttribute('aria-label', playing ? u.pause : u.play)
    }
    audio.addEventListener('play', () => show(true))
    audio.addEventListener('pause', () => { show(false); showLength() })
    audio.addEventListener('ended', () => { show(false); showLength() })
    play.addEventListener('click', () => { if (audio.paused) void audio.play().catch(() => {}); else audio.pause() })
    return h('span', { className: 'voice', role: 'group', 'aria-label': t.voice }, play, bar, len, audio)
  }
  const body = (m: Message): Node => {
    const url = safeUrl(m.message)
    switch (m.type) {
      case 1: return url !== null && url.startsWith(`${ctx.base}/stickers/`) ? h('img', { className: 'sticker', src: url, alt: t.sticker }) : document.createTextNode(t.sticker)
      case 2: case 4: return url !== null ? picture(url) : document.createTextNode(t.picture)
      case 3: return url !== null ? voice(url) : document.createTextNode(t.voice)
      case 5: return h('span', { className: `call ${m.message === 'missed' ? 'missed' : ''}` }, icon(m.p2 === 'video' ? 'video' : 'phone', 16), callLine(m))
      default: return h('span', { className: 'text', dir: 'auto' }, m.message)
    }
  }
  /** SPEC §10.2: a call's record, `started`, `missed` or `ended` (p3: its length in seconds), audio or video (p2) */
  const callLine = (m: Message): string => {
    const seconds = /^\d+$/.test(m.p3) ? Number(m.p3) : null
    return u.callLine(m.message, m.p2 === 'video', seconds)
  }
  const preview = (m: Message): string =>
    m.type === 0 ? m.message : m.type === 1 ? t.sticker : m.type === 3 ? t.voice : m.type === 5 ? callLine(m) : t.picture
  const time = (sec: number): string => new Date(sec * 1000).toLocaleTimeString(lang, { hour: '2-digit', minute: '2-digit' })
  const dayKey = (d: Date): number => new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime()
  const rel = new Intl.RelativeTimeFormat(lang, { numeric: 'auto' })
  const day = (sec: number): string => {
    const d = new Date(sec * 1000)
    const ago = Math.round((dayKey(new Date()) - dayKey(d)) / 86_400_000)
    if (ago === 0 || ago === 1) { const s = rel.format(-ago, 'day'); return s.charAt(0).toLocaleUpperCase(lang) + s.slice(1) }
    return d.toLocaleDateString(lang, { weekday: ago < 7 ? 'long' : undefined, day: 'numeric', month: 'long', year: d.getFullYear() === new Date().getFullYear() ? undefined : 'numeric' })
  }
  return { body, preview, time, day }
}

/** The day of a timestamp (local midnight), to tell where a separator goes. */
export function dayOf (sec: number): number {
  const d = new Date(sec * 1000)
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime()
}
