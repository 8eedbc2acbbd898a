// Calls (SPEC §10.2): the signals of a WebRTC call (offer, answer, ICE candidates, hang-up,
// decline) are relayed between two users who may message each other, never stored nor called
// back; each call leaves type 5 records (`started`, `missed`, `ended`), written through the
// normal send path, so they are stored, delivered and called back like any message.
//
// Who keeps a call's state: the node that took the caller's offer (only it creates the call).
// Every signal of the call, from either side and through whichever node, is relayed with
// `Notifier.callSignal`, which every node serving the domain hears and hands back to `heard`
// (the broker does): the keeper sees the callee's answer, decline and hang-up as relays to the
// caller, and the caller's own signals. Presence changes reach every node the same way, so the
// keeper also sees a side go offline. So each record is written once, by one node. A keeper
// that dies takes its calls with it: they leave no further record (docs/calls.md); one that
// stops cleanly ends them first.
import type { CallSignal } from '../../protocol/wire.ts'
import type { ErrorCode } from '../errors.ts'
import type { Logger } from '../log.ts'
import type { Store } from '../store/index.ts'
import { callStep, type CallEvent, type CallPhase, type Side } from './call-state.ts'
import type { Contacts } from './contacts.ts'
import type { Messages } from './messages.ts'
import type { Listener, Notifier } from './notifier.ts'
import { RateLimiter, type SharedTake } from './rate-limit.ts'
import type { MqttCall } from './schemas.ts'

/** SPEC §10.2: at most 50 call signals a second per user (a burst of ICE candidates fits). */
export const CALL_SIGNALS_PER_S = 50
/**
 * Calls one user may have ringing or going at once, through one node: each is a timer and,
 * in the end, a stored record; without a bound, offers with new ids would write a record each.
 */
export const MAX_CALLS_PER_USER = 4

/** What the peer gets on its `signal` topic (the client's `kind` becomes `type`). */
export type { CallSignal }

export type CallRefusal = { code: ErrorCode, message: string }

interface LiveCall {
  domainId: string
  id: string
  caller: number
  callee: number
  video: boolean
  phase: CallPhase
  startedAt: number
  timer: NodeJS.Timeout | null
}

export class Calls {
  /** the calls this node keeps, by `domain/call id` */
  private readonly live = new Map<string, LiveCall>()
  /** the keys of those calls, by `domain/userid` of either side (for presence) */
  private readonly byUser = new Map<string, Set<string>>()
  private readonly rate = new RateLimiter(CALL_SIGNALS_PER_S, CALL_SIGNALS_PER_S)
  /** records being written: a stop waits for them */
  private readonly writing = new Set<Promise<unknown>>()

  constructor (
    private readonly store: Store,
    private readonly notifier: Notifier,
    private readonly contacts: Contacts,
    private readonly messages: Messages,
    private readonly ringMs: number,
    private readonly log: Logger,
    /**
     * May the user start a call now? Each call leaves a stored record: an offer takes a token
     * of the user's sends (MQCHAT_USER_RATE), so calls cannot flood the store past that limit.
     */
    private readonly mayOffer: (domainId: string, userid: number) => Promise<boolean> = async () => true,
    /** With several nodes: a token bucket all nodes share (Redis), so the signal limit is one for all */
    private readonly sharedTake: SharedTake | null = null,
    private readonly now: () => number = Date.now
  ) {}

  /** What this node's calls hear of the notifications (app.ts adds it before the broker's). */
  readonly listener: Listener = {
    // a side gone offline ends its calls (on the node that keeps them)
    presenceChanged: (d, u, body) => { this.presenceChanged(d, u, body) },
    // the node that keeps the call moves it on
    callSignal: (d, to, s) => { this.heard(d, to, s) },
    // its calls end, unrecorded, before its connections close
    userErased: (d, u) => { this.userErased(d, u) }
  }

  /** How many calls this node keeps now (tests, metrics). */
  get size (): number {
    return this.live.size
  }

  /** One signal of the user's 50 a second (with several nodes, on all of them): null when allowed. */
  async allow (domainId: string, userid: number): Promise<CallRefusal | null> {
    if (!this.rate.take(`${domainId}/${userid}`) || await this.sharedTake?.(`call/${domainId}/${userid}`, CALL_SIGNALS_PER_S, CALL_SIGNALS_PER_S) === false) {
      return { code: 'rate_limited', message: `too many call signals: at most ${CALL_SIGNALS_PER_S} a second` }
    }
    return null
  }

  /**
   * A signal from `userid`, allowed by the rate and valid against MqttCall: refused (an error
   * for its ack), or relayed to `to_userid` and null. An offer for a new call id starts the call here.
   */
  async fromUser (domainId: string, userid: number, s: MqttCall): Promise<CallRefusal | null> {
    const to = s.to_userid
    if (to === userid) return { code: 'invalid_request', message: 'to_userid is the user itself: a user cannot call itself' }
    if ((s.kind === 'offer' || s.kind === 'answer') && s.sdp === undefined) return { code: 'invalid_request', message: `missing field "sdp": an ${s.kind} carries its session description` }
    if (s.kind === 'ice' && s.candidate === undefined) return { code: 'invalid_request', message: 'missing field "candidate": an ice signal carries one ICE candidate' }
    // SPEC §10.2: only between users who may message each other.
    if (await this.store.isBlocked(domainId, to, userid)) return { code: 'blocked', message: `user ${to} has blocked you` }
    if (!await this.contacts.mayReach(domainId, userid, to)) return { code: 'forbidden', message: `in this domain you may call only your friends, and ${to} is not one` }
    if (s.kind === 'offer' && !this.live.has(`${domainId}/${s.call}`) && !await this.mayOffer(domainId, userid)) {
      return { code: 'rate_limited', message: 'too many calls: each one counts as a message towards your send limit' }
    }
    if (s.kind === 'offer') {
      const refused = this.begin(domainId, userid, s)
      if (refused !== null) return refused
    }
    const signal: CallSignal = { kind: 'call', from_userid: userid, call: s.call, type: s.kind }
    if (s.sdp !== undefined) signal.sdp = s.sdp
    if (s.candidate !== undefined) signal.candidate = s.candidate
    if (s.video !== undefined) signal.video = s.video
    this.notifier.callSignal(domainId, to, signal)
    return null
  }

  /** An offer: a new call kept here, ringing; the same call again (a renegotiation): nothing. */
  private begin (domainId: string, userid: number, s: MqttCall): CallRefusal | null {
    const key = `${domainId}/${s.call}`
    const known = this.live.get(key)
    if (known !== undefined) {
      const same = (known.caller === userid && known.callee === s.to_userid) || (known.callee === userid && known.caller === s.to_userid)
      return same ? null : { code: 'invalid_request', message: `call id "${s.call}" is taken by another call: choose a new one (a UUID)` }
    }
    const mine = this.byUser.get(`${domainId}/${userid}`)?.size ?? 0
    if (mine >= MAX_CALLS_PER_USER) return { code: 'rate_limited', message: `at most ${MAX_CALLS_PER_USER} calls at once: hang up one first` }
    const call: LiveCall = { domainId, id: s.call, caller: userid, callee: s.to_userid, video: s.video === true, phase: 'ringing', startedAt: 0, timer: null }
    call.timer = setTimeout(() => this.apply(call, { type: 'timeout' }), this.ringMs)
    call.timer.unref()
    this.live.set(key, call)
    for (const u of [call.caller, call.callee]) {
      const k = `${domainId}/${u}`
      let set = this.byUser.get(k)
      if (set === undefined) this.byUser.set(k, set = new Set())
      set.add(key)
    }
    return null
  }

  /**
   * A call signal relayed to `to`, heard on every node that serves the domain (the broker
   * hands each one here): the node that keeps the call moves it on; the others know nothing of it.
   */
  heard (domainId: string, to: number, s: CallSignal): void {
    const call = this.live.get(`${domainId}/${s.call}`)
    if (call === undefined) return
    const by = sideOf(call, s.from_userid)
    // (a third user who guessed the call id: its signal reaches only its own target, which
    // knows it is not of the call; it changes nothing here)
    if (by === null || sideOf(call, to) !== (by === 'caller' ? 'callee' : 'caller')) return
    this.apply(call, { type: s.type, by })
  }

  /** A user's presence changed (every node hears it, `body` its event): offline ends its calls. */
  presenceChanged (domainId: string, userid: number, body: string): void {
    const keys = this.byUser.get(`${domainId}/${userid}`)
    if (keys === undefined) return
    // (parsed only for a user in a call here: every other change costs one look-up)
    let status: unknown
    try { status = (JSON.parse(body) as { status?: unknown }).status } catch { return }
    if (status !== 'offline') return
    for (const key of [...keys]) {
      const call = this.live.get(key)
      const by = call === undefined ? null : sideOf(call, userid)
      if (call !== undefined && by !== null) this.apply(call, { type: 'lost', by })
    }
  }

  /**
   * The user was erased (every node hears it): its calls end here without a record (its
   * messages are being deleted; a record now would outlive the erasure); the peer is hung up.
   */
  userErased (domainId: string, userid: number): void {
    for (const key of [...this.byUser.get(`${domainId}/${userid}`) ?? []]) {
      const call = this.live.get(key)
      if (call === undefined) continue
      this.forget(call)
      const other = call.caller === userid ? call.callee : call.caller
      this.hangUpFor(call, other, userid)
    }
  }

  private apply (call: LiveCall, e: CallEvent): void {
    const step = callStep(call.phase, e)
    if (step.phase === call.phase && step.record === null) return
    const nowMs = this.now()
    const was = call.phase
    call.phase = step.phase
    if (step.phase === 'started' && was === 'ringing') {
      call.startedAt = nowMs
      if (call.timer !== null) clearTimeout(call.timer)
      call.timer = null
    }
    if (step.phase === 'missed' || step.phase === 'ended') this.forget(call)
    if (step.record !== null) {
      const p3 = step.record === 'ended' ? String(Math.max(0, Math.floor((nowMs - call.startedAt) / 1000))) : ''
      this.record(call, step.record, p3)
    }
    if (step.hangUp === 'caller' || step.hangUp === 'both') this.hangUpFor(call, call.caller, call.callee)
    if (step.hangUp === 'callee' || step.hangUp === 'both') this.hangUpFor(call, call.callee, call.caller)
  }

  /** The server ends the call for `userid`, as if `from` had hung up. */
  private hangUpFor (call: LiveCall, userid: number, from: number): void {
    const signal: CallSignal = { kind: 'call', from_userid: from, call: call.id, type: 'hangup' }
    this.notifier.callSignal(call.domainId, userid, signal)
  }

  /** SPEC §10.2: the type 5 record, from the caller to the callee, by the chat's send path. */
  private record (call: LiveCall, message: 'started' | 'missed' | 'ended', p3: string): void {
    // Written by the server for the caller: like a message the site sends for a user (SPEC §2),
    // it reaches the caller's own connections on its `ack` with no cid (each tab draws the line).
    const written = this.messages.send(call.domainId, call.caller, {
      to_userid: call.callee, type: 5, message, p1: call.id, p2: call.video ? 'video' : 'audio', p3
    }, { byServer: true }).then(() => {}, (err: unknown) => {
      // (a block or an unfriending during the call: the store refuses the record like any message)
      this.log.warn({ err, domainId: call.domainId, call: call.id, record: message }, 'call record not stored')
    })
    this.writing.add(written)
    void written.finally(() => this.writing.delete(written))
  }

  private forget (call: LiveCall): void {
    if (call.timer !== null) clearTimeout(call.timer)
    call.timer = null
    const key = `${call.domainId}/${call.id}`
    this.live.delete(key)
    for (const u of [call.caller, call.callee]) {
      const k = `${call.domainId}/${u}`
      const set = this.byUser.get(k)
      set?.delete(key)
      if (set?.size === 0) this.byUser.delete(k)
    }
  }

  prune (): void {
    this.rate.prune()
  }

  /**
   * This node stops: the calls it keeps end now (their records written, both sides hung up,
   * while the store and the bus are still there); waits for the records being written.
   */
  async stop (): Promise<void> {
    for (const call of [...this.live.values()]) this.apply(call, { type: 'stop' })
    await Promise.all([...this.writing])
  }
}

function sideOf (call: LiveCall, userid: number): Side | null {
  return userid === call.caller ? 'caller' : userid === call.callee ? 'callee' : null
}
