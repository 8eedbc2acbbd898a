// Who may hear what (SPEC §3, §10.3): aedes's authorizeSubscribe (the topic ACL, the bound on
// subscriptions, friends-only presence) and authorizeForward (a non-friend's presence dropped
// on its way to a subscriber; just after a presence SUBSCRIBE, one change given once).
import type { AedesPublishPacket, Client, Subscription } from 'aedes'
import { PRESENCE_WINDOW_MS, PresenceWindow } from './presence-window.ts'
import type { BrokerState, MqClient } from './state.ts'
import { canSubscribe, presenceFilter, presenceUserOf, type Me } from './topics.ts'

/**
 * SPEC §3: one connection holds at most this many subscriptions; beyond, SUBACK failure. A
 * user needs its own inbox, ack and signal and the presence wildcard, or a few hundred single
 * presences. Unbounded, 60 SUBSCRIBEs of 4,000 filters held 240 MB until the disconnect.
 */
export const MAX_SUBSCRIPTIONS = 1000

export function authorizeSubscribe (s: BrokerState, client: Client, sub: Subscription, done: (err: Error | null, sub?: Subscription | null) => void): void {
  const c = client as MqClient
  const me = c.mq
  const granted = (c.mqSubs ??= new Set())
  // A subscription to a whole domain's presence reads every user's row: limited like
  // the user's other requests. A filter already held takes no new place.
  if (me !== undefined && canSubscribe(sub.topic, me) && (granted.has(sub.topic) || granted.size < MAX_SUBSCRIPTIONS) &&
    (!sub.topic.includes('+') || s.chat.allow(me.domainId, me.userid, 'subscribe')) && mayWatch(s, me, sub.topic)) {
    granted.add(sub.topic)
    if (presenceFilter(sub.topic) !== null) watchPresenceWindow(c)
    done(null, { ...sub, qos: Math.min(sub.qos, 1) as 0 | 1 })
  } else {
    s.log.debug({ clientId: client.id, topic: sub.topic }, 'subscription refused')
    done(null, null) // SUBACK 0x80, the client stays connected
  }
}

/** aedes's 'unsubscribe': those filters no longer take a place. */
export function unsubscribed (filters: string[], client: Client): void {
  const granted = (client as MqClient).mqSubs
  for (const f of filters) granted?.delete(f)
}

// SPEC §10.3: a non-friend's presence is dropped on its way to this subscriber (the
// wildcard's retained presence too). Other domains pay one map look-up per packet.
export function authorizeForward (s: BrokerState, client: Client, packet: AedesPublishPacket): AedesPublishPacket | null {
  const c = client as MqClient
  const me = c.mq
  const w = c.mqPresence
  if (me === undefined || (w === undefined && !s.contacts.filters(me.domainId))) return packet
  const other = presenceUserOf(packet.topic, me.domainId)
  if (other === null) return packet
  if (s.contacts.filters(me.domainId) && !s.contacts.allows(me.domainId, me.userid, other)) {
    w?.forget(packet.topic)
    return null
  }
  // Just after a presence SUBSCRIBE: one change given once, retained or live (presence-window.ts).
  if (w === undefined) return packet
  if (w.over()) {
    c.mqPresence = undefined
    return packet
  }
  return w.forward(packet.topic, packet.payload.toString(), packet.retain) ? packet : null
}

/**
 * A presence subscription was granted: for PRESENCE_WINDOW_MS (from the last one) this
 * connection's retained and live presence are compared, then forgotten.
 */
function watchPresenceWindow (c: MqClient): void {
  if (c.mqPresence !== undefined) { c.mqPresence.renew(); return }
  const w = c.mqPresence = new PresenceWindow()
  w.renew()
  // One timer a window, however many presence topics it is renewed by: it lets the window
  // go once over, or waits for what a renewal added.
  const expire = (): void => {
    if (c.mqPresence !== w) return
    if (w.over()) c.mqPresence = undefined
    else setTimeout(expire, PRESENCE_WINDOW_MS + 10).unref()
  }
  setTimeout(expire, PRESENCE_WINDOW_MS + 10).unref()
}

/** SPEC §10.3: one user's presence topic, in a friends-only domain, only of a friend (or its own). */
function mayWatch (s: BrokerState, me: Me, filter: string): boolean {
  const f = presenceFilter(filter)
  return f === null || f.userid === null || s.contacts.allows(me.domainId, me.userid, f.userid)
}
