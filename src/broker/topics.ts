// The topic tree and its access rules (SPEC §3). Pure: tested with a table.
//   chat/D/U/presence  server → anyone in D, retained
//   chat/D/U/status    client → server        chat/D/U/inbox  server → U
//   chat/D/U/send      client → server        chat/D/U/ack    server → U
//   chat/D/U/history   client → server
//   chat/D/U/typing    client → server        chat/D/U/signal server → U
//   chat/D/U/read      client → server
//   chat/D/U/call      client → server (SPEC §10.2: relayed on the peer's signal)
import { parseUserid } from '../chat/index.ts'

export interface Me {
  domainId: string
  userid: number
}

export type ClientAction = 'send' | 'status' | 'history' | 'typing' | 'read' | 'call'

export const inboxTopic = (d: string, u: number): string => `chat/${d}/${u}/inbox`
export const ackTopic = (d: string, u: number): string => `chat/${d}/${u}/ack`
export const signalTopic = (d: string, u: number): string => `chat/${d}/${u}/signal`
export const presenceTopic = (d: string, u: number): string => `chat/${d}/${u}/presence`

/** Splits `chat/D/U/leaf`; U may be `+` (only subscriptions may use it). */
function split (topic: string): { domainId: string, user: string, leaf: string } | null {
  const parts = topic.split('/')
  if (parts.length !== 4 || parts[0] !== 'chat') return null
  return { domainId: parts[1]!, user: parts[2]!, leaf: parts[3]! }
}

/** May `me` subscribe to `filter`? Its own inbox, ack and signal, and presence in its own domain. */
export function canSubscribe (filter: string, me: Me): boolean {
  const t = split(filter)
  if (t === null || t.domainId !== me.domainId) return false
  if (t.leaf === 'inbox' || t.leaf === 'ack' || t.leaf === 'signal') return t.user === String(me.userid)
  if (t.leaf === 'presence') return t.user === '+' || parseUserid(t.user) !== null
  return false
}

const CLIENT_ACTIONS = new Set<string>(['send', 'status', 'history', 'typing', 'read', 'call'])

/** What a publish by `me` to `topic` asks for; null when it is not allowed. */
export function clientAction (topic: string, me: Me): ClientAction | null {
  const t = split(topic)
  if (t === null || t.domainId !== me.domainId || t.user !== String(me.userid)) return null
  return CLIENT_ACTIONS.has(t.leaf) ? t.leaf as ClientAction : null
}

/** For retained presence: the domain and the user (null for `+`) a filter asks about. */
export function presenceFilter (filter: string): { domainId: string, userid: number | null } | null {
  const t = split(filter)
  if (t === null || t.leaf !== 'presence') return null
  if (t.user === '+') return { domainId: t.domainId, userid: null }
  const userid = parseUserid(t.user)
  return userid === null ? null : { domainId: t.domainId, userid }
}

/** The user whose presence a publish to `topic` is, when it is a presence topic of `domainId`; else null. */
export function presenceUserOf (topic: string, domainId: string): number | null {
  if (!topic.endsWith('/presence')) return null
  const f = presenceFilter(topic)
  return f === null || f.domainId !== domainId ? null : f.userid
}
