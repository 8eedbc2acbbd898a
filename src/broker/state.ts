// What the broker's parts share (index.ts starts it; auth.ts, acl.ts, requests.ts and
// notify.ts take it as their first argument): the running aedes, the chat it serves, and
// what each connection carries on aedes's own client object. Plain data, no lookups: every
// packet reads it (isHere and countHere keep its `here` map).
import type { Aedes, Client } from 'aedes'
import type { Chat } from '../chat/index.ts'
import type { Logger } from '../log.ts'
import type { FrameLimit } from './frame-limit.ts'
import type { Holder } from './held-answers.ts'
import type { PresenceFilter } from './presence-filter.ts'
import type { PresenceWindow } from './presence-window.ts'
import type { Me } from './topics.ts'

export type MqClient = Client & Holder & {
  mq?: Me
  counted?: boolean
  /** its CONNECT holds its place in the presence filter and the domain (auth.ts); the close lets go */
  mqJoined?: boolean
  /** the packet its bytes are in the middle of (frame-limit.ts); none between packets */
  mqFrame?: FrameLimit
  /** the filters this connection was granted and has not unsubscribed */
  mqSubs?: Set<string>
  /** shortly after a presence SUBSCRIBE: its retained and live presence, compared (presence-window.ts) */
  mqPresence?: PresenceWindow
}

/**
 * Several nodes (cluster/bus.ts): the domains whose connections this node serves. A
 * connection is let in once its domain's publishes from the other nodes reach this node,
 * and the node stops hearing a domain some time after its last connection of it closed.
 */
export interface DomainMembership {
  join(domainId: string): Promise<void>
  leave(domainId: string): void
}

export interface BrokerState {
  /** undefined until the broker has started */
  aedes: Aedes | undefined
  readonly chat: Chat
  readonly log: Logger
  /** SPEC §10.3: who may see whose presence, in domains whose contacts are friends */
  readonly contacts: PresenceFilter
  /** several nodes: the bus, which hears each domain only where it is served */
  readonly domains: DomainMembership | null
  /**
   * This node's counted connections (see index.ts's 'client' handler), by domain and user.
   * Only its own user may subscribe to a user's inbox, ack and signal topics (topics.ts), and
   * a connection is counted before it can subscribe: a publish to those topics for a user
   * with no connection here reaches nobody, and is not handed to aedes (notify.ts).
   */
  readonly here: Map<string, Map<number, number>>
}

/** Whether `userid` has a counted connection on this node. */
export function isHere (s: BrokerState, domainId: string, userid: number): boolean {
  return s.here.get(domainId)?.has(userid) === true
}

/** A connection of the user is counted (+1) or closed (−1) here. */
export function countHere (s: BrokerState, domainId: string, userid: number, by: 1 | -1): void {
  let users = s.here.get(domainId)
  if (users === undefined) {
    if (by < 0) return
    users = new Map()
    s.here.set(domainId, users)
  }
  const n = (users.get(userid) ?? 0) + by
  if (n > 0) users.set(userid, n)
  else {
    users.delete(userid)
    if (users.size === 0) s.here.delete(domainId)
  }
}
