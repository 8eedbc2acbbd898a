// Identifiers and secrets. Pure apart from the random source.
import { createHash, randomBytes, randomFillSync } from 'node:crypto'

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'

/**
 * A ULID: 48 bits of milliseconds, 80 random bits, in Crockford base32 (26 characters).
 * Sorts by time; unique without coordination between nodes.
 */
export function ulid (nowMs: number = Date.now()): string {
  let out = ''
  let t = nowMs
  for (let i = 0; i < 10; i++) { out = CROCKFORD[t % 32]! + out; t = Math.floor(t / 32) }
  for (let i = 0; i < 16; i++) out += CROCKFORD[randomByte() & 31]!
  return out
}

// One call to the random source per 4 KiB instead of one per id (it was ~7 % of the CPU
// of a message send).
const pool = Buffer.alloc(4096)
let poolAt = pool.length
function randomByte (): number {
  if (poolAt === pool.length) {
    randomFillSync(pool)
    poolAt = 0
  }
  return pool[poolAt++]!
}

/** `webhook-id` of an event: the same on every retry and replay (SPEC §4.3). */
export const newWebhookId = (nowMs?: number): string => `msg_${ulid(nowMs)}`

export const newApiKey = (): string => `mqk_${randomBytes(32).toString('base64url')}`
export const newOperatorKey = (): string => `mqo_${randomBytes(32).toString('base64url')}`
export const newTokenSecret = (): string => randomBytes(32).toString('base64url')

/** Keys are long random strings, so one fast hash is enough to store them safely. */
export const hashKey = (key: string): string => createHash('sha256').update(key).digest('hex')
