// The MQTT side (SPEC §3): aedes with our CONNECT auth, topic ACL and handlers, over TCP and
// (through http/) over WebSocket. This file is the Broker service: it starts aedes with its
// hooks (auth.ts, acl.ts, requests.ts), counts connections for presence, takes each new
// connection (TCP here, WebSocket from websocket.ts), and hears the chat (notify.ts).
import net from 'node:net'
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { Aedes } from 'aedes'
import type { CallSignal, ChatService, MessageEvent, Notifier } from '../chat/index.ts'
import type { Config } from '../config.ts'
import type { Logger } from '../log.ts'
import type { Service } from '../service.ts'
import type { ContactsMode } from '../store/index.ts'
import { listen } from '../net.ts'
import { authorizeForward, authorizeSubscribe, unsubscribed } from './acl.ts'
import { authenticate, preConnect } from './auth.ts'
import { frameCheck } from './frame-limit.ts'
import * as notify from './notify.ts'
import { strictPackets } from './packets.ts'
import { PresenceFilter } from './presence-filter.ts'
import { DROP_TOPIC, onPublish, subscribed } from './requests.ts'
import { persistenceWithPresence } from './retained.ts'
import { countHere, type BrokerState, type DomainMembership, type MqClient } from './state.ts'

type Conn = Duplex & { closed?: boolean, client?: MqClient }

export { MAX_SUBSCRIPTIONS } from './acl.ts'
export { LOGGED_USERNAME_MAX_CHARS, loggable } from './auth.ts'
export type { DomainMembership } from './state.ts'

/** TCP keep-alive probes find dead peers even when a client asked for MQTT keep-alive 0. */
export const TCP_KEEPALIVE_MS = 60_000
/** Messages aedes delivers at once (its default is 100). */
const MQ_CONCURRENCY = 2000

export class Broker implements Service, Notifier {
  readonly name = 'broker'
  private readonly s: BrokerState
  private tcp: net.Server | null = null
  private readonly sockets = new Set<Duplex>()
  port = 0

  constructor (
    private readonly config: Config,
    chat: ChatService,
    log: Logger,
    /** several nodes: the bus, which hears each domain only where it is served */
    domains: DomainMembership | null = null
  ) {
    const s: BrokerState = {
      aedes: undefined,
      chat,
      log,
      domains,
      here: new Map(),
      contacts: new PresenceFilter((d, u) => chat.contacts.friendIds(d, u), log.child({ module: 'presence-filter' }),
        (d, u, friends) => { void notify.presenceOfNewFriends(s, d, u, friends) })
    }
    this.s = s
  }

  /** The running aedes (once started). */
  get aedes (): Aedes {
    return this.s.aedes!
  }

  /** Open, authenticated connections, counted by their sockets (see the 'client' handler). */
  private open = 0

  get connections (): number {
    return this.open
  }

  async start (): Promise<void> {
    const s = this.s
    const aedes = s.aedes = await Aedes.createBroker({
      persistence: persistenceWithPresence(s.chat.presenceRows),
      // One group commit hands a whole batch of inbox and ack publishes to aedes at once; at
      // the default of 100 in flight the rest queue up (measured: half the CPU in the queue).
      // A frozen subscriber is still cut off by aedes's drainTimeout.
      concurrency: MQ_CONCURRENCY,
      preConnect,
      authenticate: (client, username, password, done) => authenticate(s, client as MqClient, username, password, done),
      authorizeSubscribe: (client, sub, done) => authorizeSubscribe(s, client, sub, done),
      authorizePublish: (client, packet, done) => onPublish(s, client as MqClient | null, packet, done),
      authorizeForward: (client, packet) => authorizeForward(s, client, packet)
    })
    // A client's request (and a refused publish) is renamed to DROP_TOPIC, which nobody can
    // hear (requests.ts): after its PUBACK it is not taken through aedes's publish (the
    // retained store, the queue, topic matching, the offline look-up). Nothing else changes.
    // (aedes's own calls pass the publishing client second; its types know only (packet, done))
    const publish = aedes.publish.bind(aedes) as unknown as (packet: unknown, client?: unknown, done?: unknown) => void
    aedes.publish = ((packet: { topic: string }, client?: unknown, done?: () => void) => {
      if (packet.topic !== DROP_TOPIC) return publish(packet, client, done)
      const cb = typeof client === 'function' ? client as () => void : done
      if (cb !== undefined) setImmediate(cb)
    }) as typeof aedes.publish
    // Presence counts sockets, not aedes's client registry: when a connection takes over a
    // client id while the old one is still closing, aedes can report the pair out of order
    // (the new one's 'client' after it closed, the old one's disconnect never), which left a
    // user online for good. Each counted connection is uncounted exactly once, when its
    // socket closes.
    aedes.on('client', (client: MqClient) => {
      const me = client.mq
      const conn = client.conn as Conn
      if (me === undefined || client.counted === true || client.closed || conn.destroyed || conn.closed === true) return
      client.counted = true
      this.open++
      countHere(s, me.domainId, me.userid, client, true)
      s.chat.presence.connected(me.domainId, me.userid)
    })
    aedes.on('subscribe', subscribed)
    aedes.on('unsubscribe', unsubscribed)
    aedes.on('clientError', (client, err) => s.log.debug({ clientId: client.id, err: err.message }, 'client error'))
    aedes.on('connectionError', (_client, err) => s.log.debug({ err: err.message }, 'connection error'))

    this.tcp = net.createServer((socket) => {
      socket.setKeepAlive(true, TCP_KEEPALIVE_MS)
      this.handle(socket)
    })
    this.port = await listen(this.tcp, this.config.mqttPort, this.config.host, 'MQCHAT_MQTT_PORT')
  }

  /** A new connection (TCP socket or WebSocket stream). */
  handle (stream: Duplex, req?: IncomingMessage): void {
    this.sockets.add(stream)
    this.s.aedes!.handle(stream, req as never)
    strictPackets((stream as Conn).client!)
    // aedes reads in paused mode ('readable' + read()); a 'data' listener then observes each
    // chunk without switching the stream to flowing mode.
    stream.on('data', this.onData)
    // 'close' is emitted once: `on` spares the wrapper `once` makes per connection.
    stream.on('close', this.onClose)
  }

  // One listener function each for every connection, not a closure per connection (idle
  // connections' memory, issue 17): the stream is `this`, its aedes client `conn.client`.

  private readonly onData = ((broker: Broker) => function (this: Conn, chunk: Buffer): void {
    const problem = frameCheck(this.client!, chunk)
    if (problem !== null) {
      broker.s.log.warn({ problem }, 'connection closed: bad packet')
      this.destroy()
    }
  })(this)

  private readonly onClose = ((broker: Broker) => function (this: Conn): void {
    broker.closed(this)
  })(this)

  /** Undoes what the connection's CONNECT and 'client' did, in the order they did it. */
  private closed (stream: Conn): void {
    this.sockets.delete(stream)
    const client = stream.client!
    client.mqHeld?.close()
    if (client.mqJoined === true) {
      this.s.contacts.disconnected(client.mq!.domainId, client.mq!.userid)
      this.s.domains?.leave(client.mq!.domainId)
    }
    if (client.counted === true) {
      this.open--
      countHere(this.s, client.mq!.domainId, client.mq!.userid, client, false)
      this.s.chat.presence.disconnected(client.mq!.domainId, client.mq!.userid)
    }
  }

  /** Closes every client connection (they connect again); the server keeps accepting. */
  dropAll (): void {
    for (const s of this.sockets) s.destroy()
  }

  async stop (): Promise<void> {
    // Stop accepting, then close every client: their presence goes offline in chat.stop().
    const closed = this.tcp === null ? Promise.resolve() : new Promise<void>((resolve) => this.tcp!.close(() => resolve()))
    await new Promise<void>((resolve) => this.s.aedes!.close(() => resolve()))
    for (const s of this.sockets) s.destroy()
    await closed
  }

  // --- Notifier: what chat asks the transport to do (notify.ts) ---

  messageStored (domainId: string, event: MessageEvent): void {
    notify.messageStored(this.s, domainId, event)
  }

  sentForUser (domainId: string, event: MessageEvent): void {
    notify.sentForUser(this.s, domainId, event)
  }

  presenceChanged (domainId: string, userid: number, body: string): Promise<void> {
    return notify.presenceChanged(this.s, domainId, userid, body)
  }

  userErased (domainId: string, userid: number): void {
    notify.userErased(this.s, domainId, userid)
  }

  signal (domainId: string, userid: number, body: string): void {
    notify.signal(this.s, domainId, userid, body)
  }

  callSignal (domainId: string, userid: number, signal: CallSignal): void {
    notify.callSignal(this.s, domainId, userid, signal)
  }

  // SPEC §10.3: what this node keeps of friendships is read again (presence-filter.ts).

  async friendsChanged (domainId: string, userids: number[]): Promise<void> {
    await this.s.contacts.friendsChanged(domainId, userids)
  }

  async contactsChanged (domainId: string, contacts: ContactsMode): Promise<void> {
    await this.s.contacts.contactsChanged(domainId, contacts)
  }
}
