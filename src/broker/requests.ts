// A client's PUBLISH (aedes's authorizePublish): a request (SPEC §3, chat/D/U/<request>)
// handed to its file in handlers/, answered on the user's `ack` topic, and never routed on
// as an MQTT message. Answers made before the connection subscribed to its `ack` are held
// and handed over after that SUBACK (held-answers.ts).
import type { Client, Subscription } from 'aedes'
import { call } from './handlers/call.ts'
import { history } from './handlers/history.ts'
import { read } from './handlers/read.ts'
import type { Ack, RequestContext } from './handlers/request.ts'
import { send } from './handlers/send.ts'
import { status } from './handlers/status.ts'
import { typing } from './handlers/typing.ts'
import { holdAnswer, takeAnswers } from './held-answers.ts'
import { toUser } from './notify.ts'
import type { BrokerState, MqClient } from './state.ts'
import { ackTopic, clientAction, type Me } from './topics.ts'

/** The requests answered only when refused; what they do is their answer. */
const ANSWERED_WHEN_REFUSED = { status, typing, read, call } as const

/** Where a refused publish goes: a `$` topic no client may subscribe to, so it reaches nobody. */
export const DROP_TOPIC = '$mqchat/dropped'

export function onPublish (s: BrokerState, client: MqClient | null, packet: { topic: string, payload: Buffer | string }, done: (err?: Error | null) => void): void {
  const me = client?.mq
  const action = me === undefined ? null : clientAction(packet.topic, me)
  if (me === undefined || action === null) {
    // SPEC §3: a refused publish is dropped and never reaches another user.
    s.log.debug({ clientId: client?.id, topic: packet.topic }, 'publish refused')
    packet.topic = DROP_TOPIC
    return done(null)
  }
  const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload
  // Client requests are answered on `ack`; none of them is routed on as an MQTT message.
  packet.topic = DROP_TOPIC
  const ctx: RequestContext = { chat: s.chat, log: s.log, me }
  const failed = (err: unknown): void => { s.log.error({ err, action }, 'request failed'); done(null) }
  switch (action) {
    case 'send':
      // PUBACK waits for the commit: once a client has it, the message is stored.
      send(ctx, payload).then((ack) => {
        if ('error' in ack && ack.error.code === 'unavailable') {
          // SPEC §6: never a PUBACK for what was not stored. The client hears why, then the
          // connection closes with the message unacknowledged, so the client's library
          // sends it again once it is back (and the database with it).
          answer(s, client, me, ack, () => done(new Error('database unavailable: message not stored')))
          return
        }
        answer(s, client, me, ack)
        done(null)
      }, failed)
      return
    case 'history':
      // The next packet of this client is read only once the answer is written out: a
      // client that stops reading cannot make the server buffer page after page.
      history(ctx, payload).then((ack) => answer(s, client, me, ack, () => done(null)), failed)
      return
    case 'status':
    case 'typing':
    case 'read':
    case 'call':
      // Answered only when refused. A status change's PUBACK follows its publication: once
      // a client has it, its own subscription to the presence topics (and everyone else's)
      // has been sent the change. Typing, read markers and call signals reach the peer as signals.
      ANSWERED_WHEN_REFUSED[action](ctx, payload).then((ack) => {
        if (ack !== null) answer(s, client, me, ack)
        done(null)
      }, failed)
  }
}

/** Answers on the user's `ack` topic; `sent` runs once the answer is written out. */
function answer (s: BrokerState, client: MqClient | null, me: Me, ack: Ack, sent?: () => void): void {
  const topic = ackTopic(me.domainId, me.userid)
  const body = JSON.stringify(ack)
  // Not subscribed to its ack yet: kept for when it is (mqtt.js subscribes after its sends).
  if (client !== null && client.mqSubs?.has(topic) !== true) holdAnswer(client, body)
  toUser(s, me.domainId, me.userid, topic, body, sent)
}

/** aedes's 'subscribe', emitted once a SUBSCRIBE's filters are in place and its SUBACK written. */
export function subscribed (subs: Subscription[], client: Client): void {
  const c = client as MqClient
  if (c.mq === undefined) return
  const topic = ackTopic(c.mq.domainId, c.mq.userid)
  if (!subs.some((s) => s.topic === topic && (s.qos as number) !== 0x80)) return
  for (const body of takeAnswers(c)) {
    c.publish({ cmd: 'publish', topic, payload: Buffer.from(body), qos: 1, retain: false, dup: false }, () => {})
  }
}
