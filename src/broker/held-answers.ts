// Answers a connection made before it subscribed to its `ack` topic.
//
// mqtt.js, asked to subscribe and publish before its CONNACK arrives, writes its stored QoS 1
// publishes first and its queued SUBSCRIBEs only once they are acknowledged (its `_onConnect`
// flushes the outgoing store, then emits 'connect', which flushes the queue): the server
// receives PUBLISH send, answers it, and only then SUBSCRIBE ack. Such an answer reached no
// subscriber, so `connect(); subscribe(ack); publish(send)`, the README's own snippet, never
// saw its ack (0 of 10 runs). A young connection's answers are kept, bounded, and handed to it
// right after the SUBACK of its first subscription to its `ack` topic. A connection makes its
// HeldAnswers with the first answer it keeps: until then it carries only when it connected
// (an idle connection, most of them, keeps no answer; issue 17).
import { HISTORY_MAX_BYTES } from './handlers/history.ts'

/** A connection's answers wait this long after CONNECT for its `ack` subscription. */
export const HOLD_ANSWERS_MS = 10_000
/** At most this many bytes of answers are kept per connection: one history page and some. */
export const HOLD_ANSWERS_MAX_BYTES = HISTORY_MAX_BYTES + 64 * 1024

export class HeldAnswers {
  private bodies: string[] = []
  private bytes = 0
  private open = true
  private timer: NodeJS.Timeout | null = null

  constructor (private readonly sinceMs: number = Date.now()) {}

  /** Keeps an answer the connection cannot receive yet; false when it is not kept. */
  hold (body: string, nowMs: number = Date.now()): boolean {
    const left = HOLD_ANSWERS_MS - (nowMs - this.sinceMs)
    if (!this.open || left <= 0) {
      this.close()
      return false
    }
    const n = Buffer.byteLength(body)
    if (this.bytes + n > HOLD_ANSWERS_MAX_BYTES) return false
    this.bodies.push(body)
    this.bytes += n
    // A connection that never subscribes does not keep its answers past the window.
    this.timer ??= setTimeout(() => this.close(), left).unref()
    return true
  }

  /** The connection now receives its answers: hands over the kept ones, keeps nothing more. */
  take (): string[] {
    const bodies = this.bodies
    this.close()
    return bodies
  }

  close (): void {
    this.open = false
    this.bodies = []
    this.bytes = 0
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
  }
}

/** What a connection carries of it (on aedes's client object, state.ts). */
export interface Holder {
  /** when its CONNECT was accepted; undefined once it receives its answers itself */
  mqConnectedMs?: number
  mqHeld?: HeldAnswers
}

/** Keeps an answer the connection cannot receive yet (its HeldAnswers made with the first). */
export function holdAnswer (c: Holder, body: string, nowMs: number = Date.now()): void {
  if (c.mqHeld === undefined) {
    if (c.mqConnectedMs === undefined || nowMs - c.mqConnectedMs >= HOLD_ANSWERS_MS) return
    c.mqHeld = new HeldAnswers(c.mqConnectedMs)
  }
  c.mqHeld.hold(body, nowMs)
}

/** The connection now receives its answers: the kept ones, and it keeps none from now on. */
export function takeAnswers (c: Holder): string[] {
  const held = c.mqHeld
  c.mqConnectedMs = undefined
  c.mqHeld = undefined
  return held === undefined ? [] : held.take()
}
