// Which secrets sign a callback's request now (SPEC §2: the rotated-out one signs beside the
// new one for 24 hours). Pure; one rule for the dispatcher's claims and the test send.
import type { CallbackRow } from './types.ts'

export function activeSecrets (cb: Pick<CallbackRow, 'signingSecret' | 'previousSecret' | 'previousSecretUntil'>, nowMs: number): string[] {
  return cb.previousSecret !== null && (cb.previousSecretUntil ?? 0) > nowMs ? [cb.signingSecret, cb.previousSecret] : [cb.signingSecret]
}
