// The client's pure decisions, without I/O: tested with literal tables (test/client-logic.test.ts).

/** First wait before reconnecting, and the longest. */
export const RECONNECT_BASE_MS = 500
export const RECONNECT_MAX_MS = 30_000

/**
 * The wait before reconnect attempt n (0-based): exponential, capped, and jittered over its
 * upper half ("equal jitter"), so that the clients of a server that restarts do not all
 * come back in the same instant, while none waits much less than its step. `random` in [0, 1).
 */
export function backoffMs (attempt: number, random: number): number {
  const step = Math.min(RECONNECT_MAX_MS, RECONNECT_BASE_MS * 2 ** Math.min(attempt, 16))
  return Math.round(step / 2 + (step / 2) * random)
}

export interface Claims { sub: string, aud?: string, exp: number }

/** The claims of a JWT, read without checking it (the server checks it; the client needs `sub` and `exp`). */
export function claimsOf (token: string): Claims {
  const part = token.split('.')[1]
  if (part === undefined) throw new Error('the token is not a JWT')
  const binary = atob(part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '='))
  // JSON in a JWT is UTF-8: atob gives bytes, one per character.
  const claims = JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)))) as Partial<Claims>
  if (typeof claims.sub !== 'string' || typeof claims.exp !== 'number') throw new Error('the token has no sub or exp')
  return claims as Claims
}

interface Body { to_userid: number, message: string, type: number, p1: string, p2: string, p3: string }

/**
 * Which unsettled send (published on a connection lost before its ack) a stored message is:
 * the first with the same recipient and content, or -1. Message events carry no cid (their
 * body is fixed, SPEC §4.2), so content is what identifies a send across a lost ack.
 */
export function matchPending (candidates: Body[], m: { to_userid: number, message: { message: string, type: number, p1: string, p2: string, p3: string } }): number {
  return candidates.findIndex((b) => b.to_userid === m.to_userid && b.message === m.message.message &&
    b.type === m.message.type && b.p1 === m.message.p1 && b.p2 === m.message.p2 && b.p3 === m.message.p3)
}

/**
 * How far back a catch-up starts. With several nodes, a message can commit a few ms after
 * one with a higher id (each node takes its ids before it commits), so the highest id given
 * is not a safe point: ids given within the last `slackMs` may have lower ones still to
 * come. The catch-up starts from the highest id given before that (or the baseline), and
 * what it gets again is dropped by id.
 */
export class CatchUpPoint {
  private settled: number
  private recent: Array<{ at: number, id: number }> = []

  constructor (baseline = 0, private readonly slackMs = CATCH_UP_SLACK_MS) {
    this.settled = baseline
  }

  /** An id given (live or by catch-up) at `now`. */
  gave (id: number, now: number): void {
    this.recent.push({ at: now, id })
    this.settle(now)
  }

  /** The id a catch-up at `now` asks for messages after. */
  after (now: number): number {
    this.settle(now)
    return this.settled
  }

  /** The baseline found at connect: nothing at or below it is asked for. */
  start (id: number): void {
    if (id > this.settled) this.settled = id
  }

  private settle (now: number): void {
    let i = 0
    while (i < this.recent.length && now - this.recent[i]!.at >= this.slackMs) {
      if (this.recent[i]!.id > this.settled) this.settled = this.recent[i]!.id
      i++
    }
    if (i > 0) this.recent.splice(0, i)
  }
}

/** How far behind the newest id given a catch-up starts, in time (see CatchUpPoint). */
export const CATCH_UP_SLACK_MS = 5_000
