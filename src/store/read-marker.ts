// A read marker's move (SPEC §3: chat/D/U/read), one rule for both stores: each reads the
// user's conversation row under its own lock, asks this, and writes what it says.
import type { ReadResult } from './types.ts'

export type MarkerMove =
  /** refused: the answer as it is */
  | { ok: false, refusal: Extract<ReadResult, { ok: false }> }
  /** allowed: whether the stored marker changes (a repeat of the marker changes nothing) */
  | { ok: true, changes: boolean }

/**
 * The marker only moves forward, and never beyond the conversation's last message; a user
 * with no conversation with the peer has nothing to mark.
 */
export function moveReadMarker (conversation: { lastId: number, readUpTo: number } | undefined, upTo: number): MarkerMove {
  if (conversation === undefined) return { ok: false, refusal: { ok: false, reason: 'no_conversation', readUpTo: 0, lastId: 0 } }
  const { lastId, readUpTo } = conversation
  if (upTo > lastId) return { ok: false, refusal: { ok: false, reason: 'beyond_last', readUpTo, lastId } }
  if (upTo < readUpTo) return { ok: false, refusal: { ok: false, reason: 'backwards', readUpTo, lastId } }
  return { ok: true, changes: upTo !== readUpTo }
}
