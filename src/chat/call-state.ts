// The life of a call (SPEC §10.2), as a pure table: ringing → started → ended, or ringing →
// missed (no answer in time, a decline, a hang-up before the answer, a side gone). Each step
// says which type 5 record the call leaves and which side the server must hang up for (the
// side that did not hang up itself: its peer is gone or the ringing timed out). The timers,
// the store and the relays around it are in calls.ts; this file decides only.
export type CallPhase = 'ringing' | 'started' | 'missed' | 'ended'
export type Side = 'caller' | 'callee'

export type CallEvent =
  /** a signal relayed between the two (the one who sent it is `by`) */
  | { type: 'offer' | 'answer' | 'ice' | 'hangup' | 'decline', by: Side }
  /** nobody answered within the ring time (MQCHAT_CALL_RING_MS, 45 s) */
  | { type: 'timeout' }
  /** a side's last connection is lost (its presence went offline) */
  | { type: 'lost', by: Side }
  /** the node that keeps the call stops (SIGTERM): it ends its calls while it can still write */
  | { type: 'stop' }

export interface CallStep {
  phase: CallPhase
  /** the type 5 record this step writes (its `message`), if any */
  record: 'started' | 'missed' | 'ended' | null
  /** who the server sends a `hangup` signal to: the side that cannot know otherwise */
  hangUp: Side | 'both' | null
}

const other = (s: Side): Side => s === 'caller' ? 'callee' : 'caller'
const stay = (phase: CallPhase): CallStep => ({ phase, record: null, hangUp: null })

export function callStep (phase: CallPhase, e: CallEvent): CallStep {
  if (phase === 'missed' || phase === 'ended') return stay(phase)
  if (phase === 'ringing') {
    switch (e.type) {
      // Only the callee answers; the caller's own answer (a confused client) changes nothing.
      case 'answer': return e.by === 'callee' ? { phase: 'started', record: 'started', hangUp: null } : stay(phase)
      // A decline, or the caller giving up before the answer: the callee missed the call.
      case 'decline':
      case 'hangup': return { phase: 'missed', record: 'missed', hangUp: null }
      case 'timeout': return { phase: 'missed', record: 'missed', hangUp: 'both' }
      case 'lost': return { phase: 'missed', record: 'missed', hangUp: other(e.by) }
      case 'stop': return { phase: 'missed', record: 'missed', hangUp: 'both' }
      default: return stay(phase)
    }
  }
  // started
  switch (e.type) {
    case 'decline':
    case 'hangup': return { phase: 'ended', record: 'ended', hangUp: null }
    case 'lost': return { phase: 'ended', record: 'ended', hangUp: other(e.by) }
    case 'stop': return { phase: 'ended', record: 'ended', hangUp: 'both' }
    default: return stay(phase) // a renegotiating offer or answer, candidates, a late timer
  }
}
