// The bodies of the events (SPEC §4.1, §4.2, fixed): the exact JSON a callback carries and
// that MQTT clients receive. Keys are written in the documented order.
// Their types are the wire's (protocol/wire.ts), which the browser client shares.
import type { MessageEvent, PresenceEvent, PresenceStatus } from '../../protocol/wire.ts'
import type { MessageRow } from '../store/index.ts'

export type { MessageEvent, PresenceEvent }

export const unixSeconds = (ms: number): number => Math.floor(ms / 1000)

export function messageEvent (m: MessageRow): MessageEvent {
  return {
    from_userid: m.fromUserid,
    message: { id: m.id, message: m.message, p1: m.p1, p2: m.p2, p3: m.p3, timestamp: unixSeconds(m.at), type: m.type },
    to_userid: m.toUserid
  }
}

export function presenceEvent (userid: number, status: PresenceStatus, atMs: number): PresenceEvent {
  return { userid, status, timestamp: unixSeconds(atMs) }
}
