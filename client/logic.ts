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
