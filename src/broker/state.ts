// What the broker's parts share (index.ts starts it; auth.ts, acl.ts, requests.ts and
// notify.ts take it as their first argument): the running aedes, the chat it serves, and
// what each connection carries on aedes's own client object. Plain data, no lookups: every
// packet reads it (countHere keeps its `here` map).
import type { Aedes, Client } from 'aedes'
import type { ChatService } from '../chat/index.ts'
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
  /** aedes's own record of the filters in place (not in its types): set as each is added */
  readonly subscriptions?: Record<string, { qos: number } | undefined>
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
  readonly chat: ChatService
  readonly log: Logger
  /** SPEC §10.3: who may see whose presence, in domains whose contacts are friends */
  readonly contacts: PresenceFilter
  /** several nodes: the bus, which hears each domain only where it is served */
  readonly domains: DomainMembership | null
  /**
   * This node's counted connections (see index.ts's 'client' handler), by domain and user.
   * Only its own user may subscribe to a user's inbox, ack and signal topics (topics.ts), and
   * a connection is counted before it can subscribe: what is published to those topics goes
   * straight to these connections (notify.ts), not through aedes's publish.
   */
  readonly here: Map<string, Map<number, Set<MqClient>>>
}

/** The user's counted connections on this node, if any. */
export function connectionsHere (s: BrokerState, domainId: string, userid: number): Set<MqClient> | undefined {
  return s.here.get(domainId)?.get(userid)
}

/** A connection of the user is counted here (`open`), or has closed. */
export function countHere (s: BrokerState, domainId: string, userid: number, client: MqClient, open: boolean): void {
  let users = s.here.get(domainId)
  if (users === undefined) {
    if (!open) return
    users = new Map()
    s.here.set(domainId, users)
  }
  let clients = users.get(userid)
  if (open) {
    if (clients === undefined) users.set(userid, clients = new Set())
    clients.add(client)
  } else if (clients !== undefined) {
    clients.delete(client)
    if (clients.size === 0) {
      users.delete(userid)
      if (users.size === 0) s.here.delete(domainId)
    }
  }
}
