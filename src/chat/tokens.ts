// User tokens (SPEC §2): HS256 JWTs with `sub` (the userid, as a string), `aud` (the domain
// id) and `exp`, signed with the domain's tokenSecret. Pure: no I/O, tested with tables.
// Written out rather than pulled from a JWT library: HS256 alone is a few lines, and
// accepting exactly one algorithm removes the classic `alg: none` / key-confusion holes.
import { createHmac, timingSafeEqual } from 'node:crypto'

export interface TokenClaims {
  sub: string
  aud: string
  /** unix seconds */
  exp: number
  /** unix seconds: when minted */
  iat?: number
}

export type TokenCheck = { ok: true } | { ok: false, reason: string }

const b64url = (buf: Buffer | string): string => Buffer.from(buf).toString('base64url')
const HEADER = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))

export function signToken (secret: string, claims: TokenClaims): string {
  const payload = b64url(JSON.stringify(claims))
  const sig = createHmac('sha256', secret).update(`${HEADER}.${payload}`).digest('base64url')
  return `${HEADER}.${payload}.${sig}`
}

/**
 * A base64url segment in its one canonical form, or null. Node's decoder skips characters
 * outside the alphabet and ignores the spare low bits of the last one, so a valid token with
 * " " or "!!**" appended, or with its last character changed in those bits, decoded to the
 * same bytes and was accepted: a token is one exact string (RFC 7515 §2, no padding).
 */
function decodeSegment (s: string): Buffer | null {
  if (!/^[A-Za-z0-9_-]*$/.test(s)) return null
  const bytes = Buffer.from(s, 'base64url')
  return bytes.toString('base64url') === s ? bytes : null
}

/** Largest token we read; a real one is ~200 bytes. */
const MAX_TOKEN_CHARS = 4096

/**
 * Checks `token` for the user `userid` of domain `domain` at `nowSec`. The reason is for
 * the server's log only: the client is told just "not authorized".
 */
export function verifyToken (token: string, secret: string, domain: string, userid: number, nowSec: number): TokenCheck {
  if (token.length > MAX_TOKEN_CHARS) return { ok: false, reason: 'token too long' }
  const parts = token.split('.')
  if (parts.length !== 3) return { ok: false, reason: 'not a JWT' }
  const [h, p, s] = parts as [string, string, string]
  const headerBytes = decodeSegment(h)
  const claimBytes = decodeSegment(p)
  const given = decodeSegment(s)
  if (headerBytes === null || claimBytes === null || given === null) return { ok: false, reason: 'not a JWT: a part is not canonical base64url' }
  let header: unknown
  let claims: Record<string, unknown>
  try {
    header = JSON.parse(headerBytes.toString('utf8'))
    claims = JSON.parse(claimBytes.toString('utf8'))
  } catch {
    return { ok: false, reason: 'not a JWT' }
  }
  if (typeof header !== 'object' || header === null || (header as { alg?: unknown }).alg !== 'HS256') {
    return { ok: false, reason: 'alg must be HS256' }
  }
  const expected = createHmac('sha256', secret).update(`${h}.${p}`).digest()
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: 'bad signature' }
  }
  if (typeof claims !== 'object' || claims === null) return { ok: false, reason: 'claims are not an object' }
  const aud = claims.aud
  if (!(aud === domain || (Array.isArray(aud) && aud.includes(domain)))) return { ok: false, reason: 'aud is not this domain' }
  // `sub` is a string by the JWT standard; a number is accepted too, since some customers'
  // libraries write it so and it is unambiguous.
  if (String(claims.sub) !== String(userid) || (typeof claims.sub !== 'string' && typeof claims.sub !== 'number')) {
    return { ok: false, reason: 'sub is not this user' }
  }
  if (typeof claims.exp !== 'number') return { ok: false, reason: 'exp missing' }
  if (claims.exp <= nowSec) return { ok: false, reason: 'expired' }
  if (typeof claims.nbf === 'number' && claims.nbf > nowSec) return { ok: false, reason: 'not valid yet (nbf)' }
  return { ok: true }
}

/**
 * The claims of a token, unverified: for routing (which domain's secret to check it with)
 * and, once `verifyToken` has accepted it, for its profile claims. Null when not a JWT.
 */
export function readClaims (token: string): Record<string, unknown> | null {
  if (token.length > MAX_TOKEN_CHARS) return null
  const parts = token.split('.')
  if (parts.length !== 3) return null
  try {
    const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'))
    return typeof claims === 'object' && claims !== null && !Array.isArray(claims) ? claims : null
  } catch {
    return null
  }
}
