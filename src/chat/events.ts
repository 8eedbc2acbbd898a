// The bodies of the events (SPEC §4.1, §4.2, fixed): the exact JSON a callback carries and
// that MQTT clients receive. Keys are written in the documented order.
import type { MessageRow, PresenceStatus } from '../store/index.ts'

export interface MessageEvent {
  from_userid: number
  message: { id: number, message: string, p1: string, p2: string, p3: string, timestamp: number, type: number }
  to_userid: number
}

export interface PresenceEvent {
  userid: number
  status: PresenceStatus
  timestamp: number
}

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
