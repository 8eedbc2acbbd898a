// Calls in the widget (SPEC §10.2): the `Call` and `Video call` buttons of a conversation's
// header; an incoming call as a dialog named `Incoming call` with `Accept` and `Decline`; the
// call itself over the panel: the peer's video (or face, for sound only), this side's camera
// in a corner, `Mute`, `Camera` and `Hang up`, and how long it has lasted. The media and the
// signals are the browser client's (client/call.ts); this draws them.
import type { Call } from '../../client/index.ts'
import type { WidgetContext } from '../context.ts'
import { h } from './dom.ts'
import { icon } from './icons.ts'
import { clock, type UiStrings } from './strings.ts'

/**
 * The call's look, over the panel: dark whatever the theme (video reads best on dark, as every
 * call screen does), white text on it at AA contrast; the self-view is mirrored, as a mirror.
 */
const CALL_CSS = `
.callview{position:absolute;inset:0;z-index:6;display:flex;flex-direction:column;background:#15181d;color:#fff}
.call-stage{position:relative;flex:1;min-height:0;display:flex;align-items:center;justify-content:center;overflow:hidden}
.call-stage .remote{position:absolute;inset:0;width:100%;height:100%;object-fit:cover;background:#000;visibility:hidden}
.call-stage .remote.shown{visibility:visible}
.call-face .avatar{display:block;width:104px;height:104px;border-radius:50%}
.call-face .face{font-size:40px;background:#2c3037;color:#fff}
.callview:not(.live) .call-face .avatar{animation:mq-ring 1.6s ease-in-out infinite}
@keyframes mq-ring{0%,100%{box-shadow:0 0 0 0 rgba(255,255,255,.35);border-radius:50%}50%{box-shadow:0 0 0 16px rgba(255,255,255,0);border-radius:50%}}
@media (prefers-reduced-motion:reduce){.callview .call-face .avatar{animation:none}}
.call-stage .local{position:absolute;bottom:12px;inset-inline-end:12px;width:30%;max-width:140px;aspect-ratio:3/4;object-fit:cover;border-radius:12px;border:2px solid rgba(255,255,255,.7);background:#000;transform:scaleX(-1)}
.call-info{text-align:center;padding:12px 16px 2px;flex:none}
.call-name{font-size:20px;font-weight:600;margin:0;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.call-status{margin:4px 0 0;font-size:14px;color:#d5d9df;font-variant-numeric:tabular-nums;min-height:20px}
.call-controls{display:flex;justify-content:center;gap:20px;padding:14px 16px calc(18px + env(safe-area-inset-bottom));flex:none;min-height:104px}
.mq .call-btn{display:flex;flex-direction:column;align-items:center;gap:6px;padding:0;color:#fff;font-size:12px;border-radius:12px}
.call-btn .icon{width:56px;height:56px;padding:16px;border-radius:50%;background:rgba(255,255,255,.16)}
.call-btn:hover .icon{background:rgba(255,255,255,.26)}
.call-btn.off .icon{background:#fff;color:#15181d}
.call-btn.accept .icon{background:#1a7f3c}
.call-btn.end .icon{background:#c8102e}
.mq .callview button:focus-visible{outline:3px solid #fff;outline-offset:3px}
`

/** How long the last words of a call ("Call ended", "No answer") stay before the panel is back. */
const ENDED_SHOWN_MS = 2500

export interface CallUi {
  /** the header's buttons for a conversation with peer */
  buttons: (peer: number) => HTMLElement[]
  /** an incoming call: the dialog that rings */
  ring: (call: Call) => void
}

export function mountCalls (ctx: WidgetContext, panel: HTMLElement, u: UiStrings, who: (peer: number) => { name: string, face: () => HTMLElement }): CallUi {
  const { chat } = ctx
  const style = document.createElement('style')
  style.textContent = CALL_CSS
  ctx.root.append(style)
  /** the call on screen (one at a time; the client declines another that comes meanwhile) */
  let shown: { call: Call, box: HTMLElement, close: () => void } | null = null
  /** where focus goes back to when the call's view goes */
  let returnFocus: HTMLElement | null = null

  const place = (peer: number, video: boolean, from: HTMLElement): void => {
    if (chat.currentCall !== null || shown !== null) return
    returnFocus = from
    show(chat.call(peer, { video }))
  }

  const buttons = (peer: number): HTMLElement[] => {
    const audio = h('button', { type: 'button', className: 'icon-btn', 'aria-label': u.call, title: u.call }, icon('phone'))
    const video = h('button', { type: 'button', className: 'icon-btn', 'aria-label': u.videoCall, title: u.videoCall }, icon('video'))
    audio.addEventListener('click', () => place(peer, false, audio))
    video.addEventListener('click', () => place(peer, true, video))
    return [audio, video]
  }

  const ring = (call: Call): void => {
    if (shown !== null || call.state === 'ended') return
    returnFocus = ctx.root.activeElement as HTMLElement | null
    show(call)
  }

  /** The call over the panel, from its first ring to its last words. */
  const show = (call: Call): void => {
    const peer = who(call.peer)
    const remote = h('video', { className: 'remote', autoplay: true, playsinline: true })
    const local = h('video', { className: 'local', autoplay: true, playsinline: true, hidden: true })
    local.muted = true
    remote.srcObject = call.remoteStream
    const face = h('div', { className: 'call-face' }, peer.face())
    const name = h('p', { className: 'call-name' }, peer.name)
    const status = h('p', { className: 'call-status', role: 'status' })
    const controls = h('div', { className: 'call-controls' })
    const stage = h('div', { className: 'call-stage' }, remote, face, local)
    const box = h('div', { className: `callview ${call.video ? 'video' : 'audio'}`, role: 'dialog', 'aria-modal': 'true' },
      stage, h('div', { className: 'call-info' }, name, status), controls)
    let timer: ReturnType<typeof setInterval> | null = null
    const offs: Array<() => void> = []

    const button = (label: string, iconName: Parameters<typeof icon>[0], cls: string, onclick: () => void): HTMLButtonElement =>
      h('button', { type: 'button', className: `call-btn ${cls}`, 'aria-label': label, title: label, onclick }, icon(iconName, 24), h('span', { className: 'call-label', 'aria-hidden': 'true' }, label))

    const draw = (): void => {
      const s = call.state
      box.setAttribute('aria-label', s === 'ringing' ? u.incomingCall : u.callWith(peer.name))
      box.classList.toggle('live', s === 'active')
      const seeing = call.video && s === 'active' && call.remoteStream.getVideoTracks().length > 0
      remote.classList.toggle('shown', seeing)
      face.hidden = seeing
      local.hidden = call.localStream === null || call.localStream.getVideoTracks().length === 0
      if (!local.hidden && local.srcObject !== call.localStream) local.srcObject = call.localStream
      if (timer !== null && s !== 'active') { clearInterval(timer); timer = null }
      if (s === 'ringing') {
        status.textContent = u.callsYou(peer.name, call.video)
        const accept = button(u.accept, call.video ? 'video' : 'phone', 'accept', () => { void call.accept() })
        controls.replaceChildren(accept, button(u.decline, 'hangUp', 'end', () => call.decline()))
        accept.focus()
      } else if (s === 'calling' || s === 'connecting') {
        status.textContent = s === 'calling' ? u.calling : u.connecting
        drawControls()
      } else if (s === 'active') {
        const tick = (): void => { status.textContent = clock(Math.floor((Date.now() - (call.startedAt ?? Date.now())) / 1000)) }
        tick()
        timer ??= setInterval(tick, 1000)
        drawControls()
      } else {
        // (the callee of a call the caller gave up on missed it; the caller got no answer)
        const reason = call.endReason ?? 'hangup'
        status.textContent = u.callEnded(reason === 'missed' && call.direction === 'incoming' ? 'missed-incoming' : reason)
        controls.replaceChildren()
        ctx.announce(status.textContent)
        setTimeout(close, ENDED_SHOWN_MS)
      }
    }
    /** Mute, Camera (a video call) and Hang up; focus stays on the one that had it */
    const drawControls = (): void => {
      const had = (ctx.root.activeElement as HTMLElement | null)?.getAttribute('aria-label')
      const mute = button(u.mute, call.muted ? 'micOff' : 'mic', call.muted ? 'off' : '', () => { call.setMuted(!call.muted); drawControls() })
      mute.setAttribute('aria-pressed', String(call.muted))
      const list: HTMLElement[] = [mute]
      if (call.video) {
        const cam = button(u.camera, call.cameraOff ? 'videoOff' : 'video', call.cameraOff ? 'off' : '', () => { call.setCameraOff(!call.cameraOff); drawControls() })
        // pressed: the camera is on
        cam.setAttribute('aria-pressed', String(!call.cameraOff))
        list.push(cam)
      }
      list.push(button(u.hangUp, 'hangUp', 'end', () => call.hangup()))
      controls.replaceChildren(...list)
      const again = had === null || had === undefined ? null : [...controls.querySelectorAll('button')].find((b) => b.getAttribute('aria-label') === had)
      ;(again ?? (box.contains(ctx.root.activeElement) ? null : list.at(-1)))?.focus()
    }
    const close = (): void => {
      if (shown?.box !== box) return
      shown = null
      if (timer !== null) clearInterval(timer)
      for (const off of offs) off()
      remote.srcObject = null
      local.srcObject = null
      box.remove()
      const back = returnFocus
      returnFocus = null
      if (back !== null && back.isConnected) back.focus()
      else panel.querySelector<HTMLElement>('textarea, .contacts button')?.focus()
    }
    // Inside the dialog, Escape declines a ringing call and does nothing else (a call is not
    // hung up by a stray key); the panel behind it does not close either.
    box.addEventListener('keydown', (e: KeyboardEvent) => {
      if (e.key === 'Tab') {
        // A modal dialog: Tab goes round its buttons, never to the panel beneath it.
        const all = [...controls.querySelectorAll<HTMLButtonElement>('button')]
        if (all.length === 0) return
        const at = all.indexOf(ctx.root.activeElement as HTMLButtonElement)
        const next = all[(at + (e.shiftKey ? all.length - 1 : 1) + (at < 0 ? 1 : 0)) % all.length]
        e.preventDefault()
        next?.focus()
        return
      }
      if (e.key !== 'Escape') return
      e.stopPropagation()
      if (call.state === 'ringing') call.decline()
    })
    offs.push(call.on('state', draw), call.on('track', () => { draw(); void remote.play().catch(() => {}) }))
    shown = { call, box, close }
    panel.querySelector('.callview')?.remove()
    panel.append(box)
    draw()
    if (call.state === 'ringing') ctx.announce(u.callsYou(peer.name, call.video))
  }

  return { buttons, ring }
}
