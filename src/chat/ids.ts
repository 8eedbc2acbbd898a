// Identifiers and secrets. Pure apart from the random source.
import { createHash, randomBytes } from 'node:crypto'

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'

/**
 * A ULID: 48 bits of milliseconds, 80 random bits, in Crockford base32 (26 characters).
 * Sorts by time; unique without coordination between nodes.
 */
export function ulid (nowMs: number = Date.now()): string {
  let out = ''
  let t = nowMs
  for (let i = 0; i < 10; i++) { out = CROCKFORD[t % 32]! + out; t = Math.floor(t / 32) }
  const rnd = randomBytes(16)
  for (let i = 0; i < 16; i++) out += CROCKFORD[rnd[i]! & 31]!
  return out
}

/** `webhook-id` of an event: the same on every retry and replay (SPEC §4.3). */
export const newWebhookId = (nowMs?: number): string => `msg_${ulid(nowMs)}`

export const newApiKey = (): string => `mqk_${randomBytes(32).toString('base64url')}`
export const newOperatorKey = (): string => `mqo_${randomBytes(32).toString('base64url')}`
export const newTokenSecret = (): string => randomBytes(32).toString('base64url')

/** Keys are long random strings, so one fast hash is enough to store them safely. */
export const hashKey = (key: string): string => createHash('sha256').update(key).digest('hex')
