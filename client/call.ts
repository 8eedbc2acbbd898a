// One-to-one audio and video calls in the browser (SPEC §10.2): WebRTC, with the offer, the
// answer, ICE candidates and the hang-up sent as signals over the chat's MQTT connection
// (`chat/D/U/call`, heard on `signal`). `chat.call(peer, {video})` places one; `chat.on('call')`
// gives incoming ones, to `accept` or `decline`. The server records each call (type 5
// messages); this file only runs the media and the signals.
//
// A call ends by a hang-up of either side, a decline, the server (nobody answered in 45 s, or
// the other side's last connection was lost), another tab of this user answering it, or the
// media link failing (ICE `failed`, or `disconnected` for longer than LINK_LOST_MS).

import type { CallSignal } from '../protocol/wire.ts'
import { Listeners } from './listeners.ts'
export type { CallSignal }

export type CallState = 'calling' | 'ringing' | 'connecting' | 'active' | 'ended'
/** Why a call ended: the peer's or this side's doing, or what the server said. */
export type CallEnd = 'hangup' | 'declined' | 'missed' | 'answered-elsewhere' | 'busy' | 'failed' | 'media' | string


/** What a call needs of the chat client (client/index.ts). */
export interface CallLink {
  readonly userid: number
  /** publishes on `chat/D/U/call`; false when offline (nothing was sent) */
  publish: (body: Record<string, unknown>) => boolean
  iceServers: () => Promise<RTCIceServer[]>
  incoming: (call: Call) => void
}

type CallEvents = { state: CallState, track: { track: MediaStreamTrack, stream: MediaStream } }

/** ICE `disconnected` this long (a network change that does not recover) ends the call. */
const LINK_LOST_MS = 8000

let seq = 0
const newCallId = (): string => typeof crypto.randomUUID === 'function'
  ? `c-${crypto.randomUUID()}`
  : `c-${Date.now().toString(36)}-${(++seq).toString(36)}-${Math.random().toString(36).slice(2, 10)}`

export class Call {
  state: CallState
  /** set once ended */
  endReason: CallEnd | null = null
  /** the camera and microphone of this side, once granted */
  localStream: MediaStream | null = null
  /** what the peer sends, track by track as they come */
  readonly remoteStream = new MediaStream()
  muted = false
  cameraOff = false
  /** when the media started to flow (ms), for a timer on screen */
  startedAt: number | null = null
  private pc: RTCPeerConnection | null = null
  private readonly listeners = new Listeners<CallEvents>()
  /** candidates of the peer that came before its description */
  private early: RTCIceCandidateInit[] = []
  private lostTimer: ReturnType<typeof setTimeout> | null = null
  private cidSeq = 0

  constructor (
    private readonly link: CallLink,
    readonly id: string,
    readonly peer: number,
    readonly video: boolean,
    readonly direction: 'outgoing' | 'incoming',
    private readonly onEnd: (c: Call) => void,
    /** the offer of an incoming call */
    private readonly offerSdp: string | null = null
  ) {
    this.state = direction === 'outgoing' ? 'calling' : 'ringing'
  }

  on<K extends keyof CallEvents> (event: K, fn: (v: CallEvents[K]) => void): () => void {
    return this.listeners.on(event, fn)
  }

  private emit<K extends keyof CallEvents> (event: K, v: CallEvents[K]): void {
    this.listeners.emit(event, v)
  }

  private setState (s: CallState): void {
    if (this.state === s || this.state === 'ended') return
    this.state = s
    if (s === 'active') this.startedAt = Date.now()
    this.emit('state', s)
  }

  /** (a getter: TypeScript keeps no narrowing of it across the awaits) */
  private get over (): boolean { return this.state === 'ended' }

  /** A cid per signal: an error ack (blocked, forbidden, rate_limited…) names this call. */
  cid (): string { return `${this.id}~${++this.cidSeq}` }

  private send (type: CallSignal['type'], extra: Record<string, unknown> = {}): boolean {
    return this.link.publish({ to_userid: this.peer, call: this.id, kind: type, ...extra, cid: this.cid() })
  }

  /** Places the call: the camera and microphone, the offer. */
  async start (): Promise<void> {
    try {
      await this.media()
      const pc = await this.connection()
      const offer = await pc.createOffer()
      await pc.setLocalDescription(offer)
      if (this.state === 'ended') return
      if (!this.send('offer', { sdp: pc.localDescription!.sdp, video: this.video })) this.end('failed', false)
    } catch (err) {
      this.end(mediaRefused(err) ? 'media' : 'failed', false)
    }
  }

  /** Answers an incoming call (`video: false` answers a video call with sound only). */
  async accept (opts: { video?: boolean } = {}): Promise<void> {
    if (this.direction !== 'incoming' || this.state !== 'ringing' || this.offerSdp === null) return
    this.setState('connecting')
    try {
      await this.media(opts.video ?? this.video)
      const pc = await this.connection()
      await pc.setRemoteDescription({ type: 'offer', sdp: this.offerSdp })
      await this.flushEarly()
      const answer = await pc.createAnswer()
      await pc.setLocalDescription(answer)
      if (this.over) return
      if (!this.send('answer', { sdp: pc.localDescription!.sdp })) this.end('failed', true)
    } catch (err) {
      this.end(mediaRefused(err) ? 'media' : 'failed', true)
    }
  }

  /** Turns down an incoming call that rings. */
  decline (): void {
    if (this.state !== 'ringing') return
    this.send('decline')
    this.end('declined', false)
  }

  /** Ends the call, whatever its state (an incoming one that rings is declined). */
  hangup (): void {
    if (this.state === 'ended') return
    if (this.state === 'ringing') { this.decline(); return }
    this.end('hangup', true)
  }

  /** Microphone off (true) or on (false). */
  setMuted (muted: boolean): void {
    this.muted = muted
    for (const t of this.localStream?.getAudioTracks() ?? []) t.enabled = !muted
  }

  /** Camera off (true) or on (false); the peer sees black meanwhile. */
  setCameraOff (off: boolean): void {
    this.cameraOff = off
    for (const t of this.localStream?.getVideoTracks() ?? []) t.enabled = !off
  }

  private async media (video = this.video): Promise<void> {
    this.localStream = await navigator.mediaDevices.getUserMedia({ audio: true, video })
    // Ended while the browser asked for permission: the devices go off at once.
    if (this.state === 'ended') { stop(this.localStream); return }
    this.setMuted(this.muted)
    this.setCameraOff(this.cameraOff)
  }

  private async connection (): Promise<RTCPeerConnection> {
    const iceServers = await this.link.iceServers().catch(() => [])
    if (this.state === 'ended') throw new Error('ended')
    const pc = this.pc = new RTCPeerConnection({ iceServers })
    for (const t of this.localStream?.getTracks() ?? []) pc.addTrack(t, this.localStream!)
    // Sound only on this side, the peer may still send video (and the other way round).
    if (this.video && (this.localStream?.getVideoTracks().length ?? 0) === 0) pc.addTransceiver('video', { direction: 'recvonly' })
    pc.addEventListener('icecandidate', (e) => { if (e.candidate !== null) this.send('ice', { candidate: e.candidate.toJSON() }) })
    pc.addEventListener('track', (e) => {
      this.remoteStream.addTrack(e.track)
      this.emit('track', { track: e.track, stream: this.remoteStream })
    })
    pc.addEventListener('connectionstatechange', () => {
      const s = pc.connectionState
      if (s === 'connected') {
        if (this.lostTimer !== null) clearTimeout(this.lostTimer)
        this.lostTimer = null
        this.setState('active')
      } else if (s === 'failed') {
        this.end('failed', true)
      } else if (s === 'disconnected') {
        this.lostTimer ??= setTimeout(() => { if (pc.connectionState !== 'connected') this.end('failed', true) }, LINK_LOST_MS)
      }
    })
    return pc
  }

  private async flushEarly (): Promise<void> {
    const early = this.early
    this.early = []
    for (const c of early) await this.pc?.addIceCandidate(c).catch(() => {})
  }

  /** A signal of this call from the peer (or from the server, on its behalf). */
  async signal (s: CallSignal): Promise<void> {
    switch (s.type) {
      case 'answer':
        if (this.direction !== 'outgoing' || this.pc === null || s.sdp === undefined || this.pc.signalingState !== 'have-local-offer') return
        this.setState('connecting')
        try {
          await this.pc.setRemoteDescription({ type: 'answer', sdp: s.sdp })
          await this.flushEarly()
        } catch {
          this.end('failed', true)
        }
        return
      case 'ice':
        if (s.candidate === undefined) return
        if (this.pc === null || this.pc.remoteDescription === null) this.early.push(s.candidate)
        else await this.pc.addIceCandidate(s.candidate).catch(() => {})
        return
      case 'decline':
        this.end(this.direction === 'outgoing' ? 'declined' : 'hangup', false)
        return
      case 'hangup':
        // Before an answer: the caller gave up (or the server: nobody answered in time).
        this.end(this.state === 'ringing' || this.state === 'calling' ? 'missed' : 'hangup', false)
    }
  }

  /** The server's record of this call reached this tab: another tab of this user answered it, or it is over. */
  record (message: string): void {
    if (this.state === 'ringing' && message === 'started') this.end('answered-elsewhere', false)
    else if (message === 'missed' || message === 'ended') this.end(message === 'missed' ? 'missed' : 'hangup', false)
  }

  /** The server refused one of this call's signals (blocked, forbidden, rate_limited on the offer…). */
  refused (code: string): void {
    if (this.state === 'calling' || this.state === 'connecting') this.end(code, false)
  }

  /** Ends it here: tells the peer (unless it is the one who ended it), stops the devices. */
  end (reason: CallEnd, tellPeer: boolean): void {
    if (this.state === 'ended') return
    if (tellPeer) this.send('hangup')
    this.endReason = reason
    if (this.lostTimer !== null) clearTimeout(this.lostTimer)
    stop(this.localStream)
    this.pc?.close()
    this.pc = null
    this.state = 'ended'
    this.onEnd(this)
    this.emit('state', 'ended')
  }
}

const stop = (s: MediaStream | null): void => { for (const t of s?.getTracks() ?? []) t.stop() }
const mediaRefused = (err: unknown): boolean => err instanceof DOMException && ['NotAllowedError', 'NotFoundError', 'NotReadableError', 'OverconstrainedError', 'SecurityError'].includes(err.name)

/** The calls of one chat client: places them, routes signals, records and refusals to them. */
export class CallDesk {
  private readonly calls = new Map<string, Call>()

  constructor (private readonly link: CallLink) {
    // A tab that goes away hangs up (the peer would otherwise wait for the link to fail).
    if (typeof window !== 'undefined') window.addEventListener('pagehide', () => { for (const c of [...this.calls.values()]) c.hangup() })
  }

  /** A call not yet ended, if any: one at a time. */
  get current (): Call | null {
    for (const c of this.calls.values()) if (c.state !== 'ended' && c.state !== 'ringing') return c
    return null
  }

  place (peer: number, opts: { video?: boolean } = {}): Call {
    const call = new Call(this.link, newCallId(), peer, opts.video === true, 'outgoing', (c) => this.calls.delete(c.id))
    this.calls.set(call.id, call)
    void call.start()
    return call
  }

  signal (s: CallSignal): void {
    if (typeof s?.call !== 'string' || typeof s.from_userid !== 'number') return
    const known = this.calls.get(s.call)
    if (known !== undefined) {
      if (known.peer === s.from_userid) void known.signal(s)
      return
    }
    if (s.type !== 'offer' || typeof s.sdp !== 'string') return
    const call = new Call(this.link, s.call, s.from_userid, s.video === true, 'incoming', (c) => this.calls.delete(c.id), s.sdp)
    // Already in a call (or ringing for another): this one is turned down at once.
    if (this.calls.size > 0) {
      this.link.publish({ to_userid: s.from_userid, call: s.call, kind: 'decline', cid: call.cid() })
      return
    }
    this.calls.set(call.id, call)
    this.link.incoming(call)
  }

  /** The chat is closed: every call hangs up (while the connection can still say so). */
  hangUpAll (): void {
    for (const c of [...this.calls.values()]) c.hangup()
  }

  /** A type 5 message: the server's record of a call. */
  record (p1: string, message: string): void {
    this.calls.get(p1)?.record(message)
  }

  /** An error ack whose cid is one of a call's. */
  ack (cid: string, code: string): boolean {
    const cut = cid.lastIndexOf('~')
    if (cut < 0) return false
    const call = this.calls.get(cid.slice(0, cut))
    call?.refused(code)
    return call !== undefined
  }
}
