// The Notifier side (chat/notifier.ts): what the chat asks this node's connections to hear,
// published through aedes or, for a user's own topics, written to its connections directly.
// The Broker's Notifier methods (index.ts) are these.
import type { CallSignal, MessageEvent } from '../chat/index.ts'
import { presenceEvent } from '../chat/events.ts'
import { connectionsHere, type BrokerState, type MqClient } from './state.ts'
import { writePublish } from './packets.ts'
import { ackTopic, inboxTopic, presenceTopic, signalTopic } from './topics.ts'

/** The longest a status PUBACK waits for its presence change to reach slow subscribers. */
const PRESENCE_ACK_WAIT_MS = 500

export function publish (s: BrokerState, topic: string, body: string, retain: boolean, sent?: () => void): void {
  // While stopping, the last presence changes are stored (and called back) but nobody is
  // left to hear them.
  // Before the broker has started (the chat's recovery of presence at start), nobody is
  // connected to hear it either.
  if (s.aedes === undefined || s.aedes.closed) return sent?.()
  s.aedes.publish({ cmd: 'publish', topic, payload: Buffer.from(body), qos: 1, retain, dup: false }, (err?: Error) => {
    if (err) s.log.warn({ err, topic }, 'publish failed')
    sent?.()
  })
}

/**
 * To one user's connections here that subscribe to `topic` (its inbox, ack or signal: no
 * one else may, state.ts), written to each connection at once (packets.ts writePublish), as
 * aedes's own publish would end (the connection's subscription QoS, the write), without its
 * queue, topic matching, offline look-up and the tick it waits before each write (measured:
 * most of aedes's share of a message, and one writev per packet). authorizeForward has
 * nothing to say of these topics. One payload for all of them. `sent` runs once each has
 * been written.
 */
export function toUser (s: BrokerState, domainId: string, userid: number, topic: string, body: string, sent?: () => void): void {
  const clients = connectionsHere(s, domainId, userid)
  let left = 0
  if (clients !== undefined && s.aedes?.closed === false) for (const c of clients) if (c.subscriptions?.[topic] !== undefined) left++
  if (left === 0) return sent?.()
  const payload = Buffer.from(body)
  const one = sent === undefined ? undefined : () => { if (--left === 0) sent() }
  for (const c of clients!) {
    const sub = c.subscriptions?.[topic]
    if (sub !== undefined) writePublish(c, topic, payload, sub.qos, one)
  }
}

export function messageStored (s: BrokerState, domainId: string, event: MessageEvent): void {
  // (most of what the bus brings is for users elsewhere: not even encoded then)
  if (connectionsHere(s, domainId, event.to_userid) === undefined) return
  toUser(s, domainId, event.to_userid, inboxTopic(domainId, event.to_userid), JSON.stringify(event))
}

/**
 * On the sender's `ack`, with no cid (no connection of it asked): every connection of the
 * sender here that listens to its answers sees the message, as its other tabs see the ack
 * of an MQTT send. (Not held for a connection yet to subscribe: that one's catch-up has it.)
 */
export function sentForUser (s: BrokerState, domainId: string, event: MessageEvent): void {
  if (connectionsHere(s, domainId, event.from_userid) === undefined) return
  toUser(s, domainId, event.from_userid, ackTopic(domainId, event.from_userid), JSON.stringify({ cid: null, event }))
}

/**
 * Resolves once aedes has written the change to every subscriber here, or after
 * PRESENCE_ACK_WAIT_MS: aedes calls back only when the slowest subscriber's socket has
 * drained, and one frozen tab of the domain must not hold every status PUBACK (and so the
 * setter's next packets) for aedes's 60 s drain timeout. The others were written already.
 */
export async function presenceChanged (s: BrokerState, domainId: string, userid: number, body: string): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, PRESENCE_ACK_WAIT_MS)
    timer.unref()
    publish(s, presenceTopic(domainId, userid), body, true, () => { clearTimeout(timer); resolve() })
  })
}

export function userErased (s: BrokerState, domainId: string, userid: number): void {
  for (const client of clientsOf(s, domainId, userid)) client.close()
}

/** The user's connections on this node. */
function clientsOf (s: BrokerState, domainId: string, userid: number): MqClient[] {
  // aedes's registry, not the `here` map: an erasure also closes a connection whose CONNECT
  // was accepted but which is not counted yet. Client ids are namespaced `<domain>/<userid>/…` (see auth.ts); aedes keeps its
  // connected clients by id (not in its types).
  const prefix = `${domainId}/${userid}/`
  if (s.aedes === undefined) return []
  return Object.values((s.aedes as unknown as { clients: Record<string, MqClient> }).clients).filter((c) => c.id.startsWith(prefix))
}

export function signal (s: BrokerState, domainId: string, userid: number, body: string): void {
  toUser(s, domainId, userid, signalTopic(domainId, userid), body)
}

/** SPEC §10.2: to the user's connections here. */
export function callSignal (s: BrokerState, domainId: string, userid: number, signal: CallSignal): void {
  if (connectionsHere(s, domainId, userid) === undefined) return
  toUser(s, domainId, userid, signalTopic(domainId, userid), JSON.stringify(signal))
}

/**
 * SPEC §10.3: a user connected here gained friends; each of its connections that watches
 * presence (the wildcard, or that friend's topic) is sent their current presence, as a
 * retained message, as it would have been on subscribing (the wildcard: not offline ones).
 * (friendsChanged and contactsChanged go to the PresenceFilter, which calls this.)
 */
export async function presenceOfNewFriends (s: BrokerState, domainId: string, userid: number, friends: number[]): Promise<void> {
  const watching = [...connectionsHere(s, domainId, userid) ?? []].filter((c) => c.mqSubs !== undefined)
  if (watching.length === 0) return
  const wildcard = `chat/${domainId}/+/presence`
  for (const friend of friends) {
    const topic = presenceTopic(domainId, friend)
    const to = watching.filter((c) => c.mqSubs!.has(topic) || c.mqSubs!.has(wildcard))
    if (to.length === 0) continue
    const row = await s.chat.presenceRows.getPresence(domainId, friend).catch((err) => { s.log.warn({ err }, 'presence not read'); return null })
    if (row === null) continue
    const payload = Buffer.from(JSON.stringify(presenceEvent(row.userid, row.status, row.changedAt)))
    for (const c of to) {
      if (row.status === 'offline' && !c.mqSubs!.has(topic)) continue
      c.publish({ cmd: 'publish', topic, payload, qos: 1, retain: true, dup: false }, () => {})
    }
  }
}
