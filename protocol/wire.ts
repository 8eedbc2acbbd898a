// The wire (SPEC §3, §4.1, §4.2, §10.2): what travels between the server and its MQTT clients,
// written once for the server (src/), the browser client (client/), the widget and the tests.
// Types only: nothing here runs, so both the Node server and the browser bundle import it.

/** A user's status (SPEC §3). */
export type PresenceStatus = 'online' | 'away' | 'busy' | 'offline'

/** A stored message (SPEC §4.2, fixed): the body of a message callback and of an `inbox` publish. */
export interface MessageEvent {
  from_userid: number
  message: { id: number, message: string, p1: string, p2: string, p3: string, timestamp: number, type: number }
  to_userid: number
}

/** A presence change (SPEC §4.1, fixed): the body of a presence callback and of a `presence/U` publish. */
export interface PresenceEvent {
  userid: number
  status: PresenceStatus
  timestamp: number
}

/** On `signal`: the peer is typing to this user (SPEC §3). */
export interface TypingSignal { kind: 'typing', from_userid: number }

/** On `signal`: a read marker moved, this user's own (another tab) or its peer's (SPEC §3). */
export interface ReadSignal { kind: 'read', userid: number, peer: number, up_to: number, timestamp: number }

/** An ICE candidate as a browser's RTCIceCandidate.toJSON() gives it. */
export interface IceCandidate {
  candidate: string
  sdpMid?: string | null
  sdpMLineIndex?: number | null
  usernameFragment?: string | null
}

/** On `signal`: one signal of a call, relayed from `from_userid` (SPEC §10.2). */
export interface CallSignal {
  kind: 'call'
  from_userid: number
  call: string
  type: 'offer' | 'answer' | 'ice' | 'hangup' | 'decline'
  sdp?: string
  candidate?: IceCandidate
  video?: boolean
}

/** What `chat/D/U/signal` carries. */
export type Signal = TypingSignal | ReadSignal | CallSignal

/**
 * What `chat/D/U/ack` carries (SPEC §3): the stored message of a send, a history page, or
 * an error; `cid` is the request's (null: nobody of this connection asked, e.g. a message the
 * site sent for this user). `Code` is the server's table of error codes (src/errors.ts).
 */
export type Ack<Code extends string = string> =
  | { cid: unknown, event: MessageEvent }
  | { cid: unknown, messages: MessageEvent[] }
  | { cid: unknown, error: { code: Code, message: string } }
