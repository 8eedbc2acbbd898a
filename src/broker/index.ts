// The MQTT side (SPEC §3): aedes with our CONNECT auth, topic ACL and handlers, over TCP and
// (through http/) over WebSocket.
import net from 'node:net'
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { Aedes, type AuthenticateError, type Client } from 'aedes'
import type { CallSignal, Chat, MessageEvent, Notifier } from '../chat/index.ts'
import { presenceEvent } from '../chat/events.ts'
import type { Config } from '../config.ts'
import type { Logger } from '../log.ts'
import type { Service } from '../service.ts'
import { FrameLimit } from './frame-limit.ts'
import { HeldAnswers } from './held-answers.ts'
import { strictPackets } from './packets.ts'
import { PresenceFilter } from './presence-filter.ts'
import { PRESENCE_WINDOW_MS, PresenceWindow } from './presence-window.ts'
import { persistenceWithPresence } from './retained.ts'
import { call } from './handlers/call.ts'
import { history } from './handlers/history.ts'
import { read } from './handlers/read.ts'
import type { Ack, RequestContext } from './handlers/request.ts'
import { send } from './handlers/send.ts'
import { status } from './handlers/status.ts'
import { typing } from './handlers/typing.ts'
import { ackTopic, canSubscribe, clientAction, inboxTopic, presenceFilter, presenceTopic, presenceUserOf, signalTopic, type Me } from './topics.ts'
import type { ContactsMode } from '../store/index.ts'
import { listen } from '../net.ts'

/** The requests answered only when refused; what they do is their answer. */
const ANSWERED_WHEN_REFUSED = { status, typing, read, call } as const

/** Where a refused publish goes: a `$` topic no client may subscribe to, so it reaches nobody. */
const DROP_TOPIC = '$mqchat/dropped'
/** TCP keep-alive probes find dead peers even when a client asked for MQTT keep-alive 0. */
export const TCP_KEEPALIVE_MS = 60_000
/** The longest a status PUBACK waits for its presence change to reach slow subscribers. */
const PRESENCE_ACK_WAIT_MS = 500
/** Messages aedes delivers at once (its default is 100). */
const MQ_CONCURRENCY = 2000

/**
 * SPEC §3: one connection holds at most this many subscriptions; beyond, SUBACK failure. A
 * user needs its own inbox, ack and signal and the presence wildcard, or a few hundred single
 * presences. Unbounded, 60 SUBSCRIBEs of 4,000 filters held 240 MB until the disconnect.
 */
export const MAX_SUBSCRIPTIONS = 1000

type MqClient = Client & {
  mq?: Me
  counted?: boolean
  /** the filters this connection was granted and has not unsubscribed */
  mqSubs?: Set<string>
  /** its answers made before it subscribed to its `ack` topic (held-answers.ts) */
  mqHeld?: HeldAnswers
  /** shortly after a presence SUBSCRIBE: its retained and live presence, compared (presence-window.ts) */
  mqPresence?: PresenceWindow
}

/** The most of a refused username the log keeps: a 60 KB one made a 60 KB line. */
export const LOGGED_USERNAME_MAX_CHARS = 100
/** A JWT's base64url header (`{"` is `eyJ`) and a dot, anywhere in the string. */
const LOOKS_LIKE_JWT = /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]/

/**
 * A refused username as the log shows it: bounded, and redacted when it looks like a token
 * (a client that swaps username and password would put its JWT in the log; SPEC §1).
 */
export function loggable (username: string | undefined): string | undefined {
  if (username === undefined) return undefined
  if (LOOKS_LIKE_JWT.test(username)) return '[redacted: looks like a token]'
  return username.length <= LOGGED_USERNAME_MAX_CHARS ? username : `${username.slice(0, LOGGED_USERNAME_MAX_CHARS)}… (${username.length} characters)`
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

export class Broker implements Service, Notifier {
  readonly name = 'broker'
  aedes!: Aedes
  private tcp: net.Server | null = null
  private readonly sockets = new Set<Duplex>()
  port = 0
  /** SPEC §10.3: who may see whose presence, in domains whose contacts are friends */
  private readonly contacts: PresenceFilter

  constructor (
    private readonly config: Config,
    private readonly chat: Chat,
    private readonly log: Logger,
    /** several nodes: the bus, which hears each domain only where it is served */
    private readonly domains: DomainMembership | null = null
  ) {
    this.contacts = new PresenceFilter((d, u) => chat.contacts.friendIds(d, u), log.child({ module: 'presence-filter' }),
      (d, u, friends) => { void this.presenceOfNewFriends(d, u, friends) })
  }

  /** Open, authenticated connections, counted by their sockets (see the 'client' handler). */
  private open = 0

  get connections (): number {
    return this.open
  }

  async start (): Promise<void> {
    this.aedes = await Aedes.createBroker({
      persistence: persistenceWithPresence(this.chat.presenceRows),
      // One group commit hands a whole batch of inbox and ack publishes to aedes at once; at
      // the default of 100 in flight the rest queue up (measured: half the CPU in the queue).
      // A frozen subscriber is still cut off by aedes's drainTimeout.
      concurrency: MQ_CONCURRENCY,
      preConnect: (_client, packet, done) => {
        // Sessions are always clean: a client catches up from history (`after`), so nothing
        // is queued in memory for users who may never come back. Wills are ignored: only the
        // server speaks for a user's presence.
        packet.clean = true
        delete (packet as { will?: unknown }).will
        done(null, true)
      },
      authenticate: (client, username, password, done) => this.authenticate(client as MqClient, username, password, done),
      authorizeSubscribe: (client, sub, done) => {
        const c = client as MqClient
        const me = c.mq
        const granted = (c.mqSubs ??= new Set())
        // A subscription to a whole domain's presence reads every user's row: limited like
        // the user's other requests. A filter already held takes no new place.
        if (me !== undefined && canSubscribe(sub.topic, me) && (granted.has(sub.topic) || granted.size < MAX_SUBSCRIPTIONS) &&
          (!sub.topic.includes('+') || this.chat.allow(me.domainId, me.userid, 'subscribe')) && this.mayWatch(me, sub.topic)) {
          granted.add(sub.topic)
          if (presenceFilter(sub.topic) !== null) this.watchPresenceWindow(c)
          done(null, { ...sub, qos: Math.min(sub.qos, 1) as 0 | 1 })
        } else {
          this.log.debug({ clientId: client.id, topic: sub.topic }, 'subscription refused')
          done(null, null) // SUBACK 0x80, the client stays connected
        }
      },
      authorizePublish: (client, packet, done) => this.onPublish(client as MqClient | null, packet, done),
      // SPEC §10.3: a non-friend's presence is dropped on its way to this subscriber (the
      // wildcard's retained presence too). Other domains pay one map look-up per packet.
      authorizeForward: (client, packet) => {
        const c = client as MqClient
        const me = c.mq
        const w = c.mqPresence
        if (me === undefined || (w === undefined && !this.contacts.filters(me.domainId))) return packet
        const other = presenceUserOf(packet.topic, me.domainId)
        if (other === null) return packet
        if (this.contacts.filters(me.domainId) && !this.contacts.allows(me.domainId, me.userid, other)) {
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
    })
    // Presence counts sockets, not aedes's client registry: when a connection takes over a
    // client id while the old one is still closing, aedes can report the pair out of order
    // (the new one's 'client' after it closed, the old one's disconnect never), which left a
    // user online for good. Each counted connection is uncounted exactly once, when its
    // socket closes.
    this.aedes.on('client', (client: MqClient) => {
      const me = client.mq
      const conn = client.conn as Duplex & { closed?: boolean }
      if (me === undefined || client.counted === true || client.closed || conn.destroyed || conn.closed === true) return
      client.counted = true
      this.open++
      this.chat.presence.connected(me.domainId, me.userid)
      conn.once('close', () => {
        this.open--
        this.chat.presence.disconnected(me.domainId, me.userid)
      })
    })
    // Emitted once a SUBSCRIBE's filters are in place and its SUBACK written.
    this.aedes.on('subscribe', (subs, client) => {
      const c = client as MqClient
      if (c.mq === undefined || c.mqHeld === undefined) return
      const topic = ackTopic(c.mq.domainId, c.mq.userid)
      if (!subs.some((s) => s.topic === topic && (s.qos as number) !== 0x80)) return
      for (const body of c.mqHeld.take()) {
        c.publish({ cmd: 'publish', topic, payload: Buffer.from(body), qos: 1, retain: false, dup: false }, () => {})
      }
    })
    this.aedes.on('unsubscribe', (filters, client) => {
      const granted = (client as MqClient).mqSubs
      for (const f of filters) granted?.delete(f)
    })
    this.aedes.on('clientError', (client, err) => this.log.debug({ clientId: client.id, err: err.message }, 'client error'))
    this.aedes.on('connectionError', (_client, err) => this.log.debug({ err: err.message }, 'connection error'))

    this.tcp = net.createServer((socket) => {
      socket.setKeepAlive(true, TCP_KEEPALIVE_MS)
      this.handle(socket)
    })
    this.port = await listen(this.tcp, this.config.mqttPort, this.config.host, 'MQCHAT_MQTT_PORT')
  }

  /** A new connection (TCP socket or WebSocket stream). */
  handle (stream: Duplex, req?: IncomingMessage): void {
    const limit = new FrameLimit()
    this.sockets.add(stream)
    stream.once('close', () => this.sockets.delete(stream))
    const client = this.aedes.handle(stream, req as never) as MqClient
    strictPackets(client)
    stream.once('close', () => client.mqHeld?.close())
    // aedes reads in paused mode ('readable' + read()); a 'data' listener then observes each
    // chunk without switching the stream to flowing mode.
    stream.on('data', (chunk: Buffer) => {
      const problem = limit.feed(chunk)
      if (problem !== null) {
        this.log.warn({ problem }, 'connection closed: bad packet')
        stream.destroy()
      }
    })
  }

  /** Closes every client connection (they connect again); the server keeps accepting. */
  dropAll (): void {
    for (const s of this.sockets) s.destroy()
  }

  async stop (): Promise<void> {
    // Stop accepting, then close every client: their presence goes offline in chat.stop().
    const closed = this.tcp === null ? Promise.resolve() : new Promise<void>((resolve) => this.tcp!.close(() => resolve()))
    await new Promise<void>((resolve) => this.aedes.close(() => resolve()))
    for (const s of this.sockets) s.destroy()
    await closed
  }

  // --- Notifier: what chat asks the transport to do ---

  messageStored (domainId: string, event: MessageEvent): void {
    this.publish(inboxTopic(domainId, event.to_userid), JSON.stringify(event), false)
  }

  /**
   * On the sender's `ack`, with no cid (no connection of it asked): every connection of the
   * sender here that listens to its answers sees the message, as its other tabs see the ack
   * of an MQTT send. (Not held for a connection yet to subscribe: that one's catch-up has it.)
   */
  sentForUser (domainId: string, event: MessageEvent): void {
    this.publish(ackTopic(domainId, event.from_userid), JSON.stringify({ cid: null, event }), false)
  }

  /**
   * Resolves once aedes has written the change to every subscriber here, or after
   * PRESENCE_ACK_WAIT_MS: aedes calls back only when the slowest subscriber's socket has
   * drained, and one frozen tab of the domain must not hold every status PUBACK (and so the
   * setter's next packets) for aedes's 60 s drain timeout. The others were written already.
   */
  async presenceChanged (domainId: string, userid: number, body: string): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, PRESENCE_ACK_WAIT_MS)
      timer.unref()
      this.publish(presenceTopic(domainId, userid), body, true, () => { clearTimeout(timer); resolve() })
    })
  }

  userErased (domainId: string, userid: number): void {
    for (const client of this.clientsOf(domainId, userid)) client.close()
  }

  /** The user's connections on this node. */
  private clientsOf (domainId: string, userid: number): MqClient[] {
    // Client ids are namespaced `<domain>/<userid>/…` (see authenticate); aedes keeps its
    // connected clients by id (not in its types).
    const prefix = `${domainId}/${userid}/`
    if (this.aedes === undefined) return []
    return Object.values((this.aedes as unknown as { clients: Record<string, MqClient> }).clients).filter((c) => c.id.startsWith(prefix))
  }

  signal (domainId: string, userid: number, body: string): void {
    this.publish(signalTopic(domainId, userid), body, false)
  }

  /** SPEC §10.2: to the user's connections here. */
  callSignal (domainId: string, userid: number, signal: CallSignal): void {
    this.publish(signalTopic(domainId, userid), JSON.stringify(signal), false)
  }

  async friendsChanged (domainId: string, userids: number[]): Promise<void> {
    await this.contacts.friendsChanged(domainId, userids)
  }

  async contactsChanged (domainId: string, contacts: ContactsMode): Promise<void> {
    await this.contacts.contactsChanged(domainId, contacts)
  }

  /**
   * SPEC §10.3: a user connected here gained friends; each of its connections that watches
   * presence (the wildcard, or that friend's topic) is sent their current presence, as a
   * retained message, as it would have been on subscribing (the wildcard: not offline ones).
   */
  private async presenceOfNewFriends (domainId: string, userid: number, friends: number[]): Promise<void> {
    const watching = this.clientsOf(domainId, userid).filter((c) => c.mqSubs !== undefined)
    if (watching.length === 0) return
    const wildcard = `chat/${domainId}/+/presence`
    for (const friend of friends) {
      const topic = presenceTopic(domainId, friend)
      const to = watching.filter((c) => c.mqSubs!.has(topic) || c.mqSubs!.has(wildcard))
      if (to.length === 0) continue
      const row = await this.chat.presenceRows.getPresence(domainId, friend).catch((err) => { this.log.warn({ err }, 'presence not read'); return null })
      if (row === null) continue
      const payload = Buffer.from(JSON.stringify(presenceEvent(row.userid, row.status, row.changedAt)))
      for (const c of to) {
        if (row.status === 'offline' && !c.mqSubs!.has(topic)) continue
        c.publish({ cmd: 'publish', topic, payload, qos: 1, retain: true, dup: false }, () => {})
      }
    }
  }

  /**
   * A presence subscription was granted: for PRESENCE_WINDOW_MS (from the last one) this
   * connection's retained and live presence are compared, then forgotten.
   */
  private watchPresenceWindow (c: MqClient): void {
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
  private mayWatch (me: Me, filter: string): boolean {
    const f = presenceFilter(filter)
    return f === null || f.userid === null || this.contacts.allows(me.domainId, me.userid, f.userid)
  }

  /** Answers on the user's `ack` topic; `sent` runs once the answer is written out. */
  private ack (client: MqClient | null, me: Me, ack: Ack, sent?: () => void): void {
    const topic = ackTopic(me.domainId, me.userid)
    const body = JSON.stringify(ack)
    // Not subscribed to its ack yet: kept for when it is (mqtt.js subscribes after its sends).
    if (client !== null && client.mqSubs?.has(topic) !== true) client.mqHeld?.hold(body)
    this.publish(topic, body, false, sent)
  }

  private publish (topic: string, body: string, retain: boolean, sent?: () => void): void {
    // While stopping, the last presence changes are stored (and called back) but nobody is
    // left to hear them.
    // Before the broker has started (the chat's recovery of presence at start), nobody is
    // connected to hear it either.
    if (this.aedes === undefined || this.aedes.closed) return sent?.()
    this.aedes.publish({ cmd: 'publish', topic, payload: Buffer.from(body), qos: 1, retain, dup: false }, (err?: Error) => {
      if (err) this.log.warn({ err, topic }, 'publish failed')
      sent?.()
    })
  }

  private authenticate (client: MqClient, username: string | undefined, password: Buffer | undefined, done: (err: AuthenticateError | null, ok: boolean) => void): void {
    const refuse = (reason: string, code: 3 | 5 = 5): void => {
      this.log.info({ username: loggable(username), reason }, 'connection refused')
      const err = new Error(code === 5 ? 'not authorized' : 'server unavailable') as AuthenticateError
      err.returnCode = code
      done(err, false)
    }
    if (username === undefined || password === undefined) return refuse('no username or password')
    // Over WebSocket, the page's Origin is checked against the domain's allowedOrigins (SPEC §3).
    const headers = (client as { req?: IncomingMessage }).req?.headers
    const changesSeen = this.contacts.changeCount
    void (async () => {
      const r = await this.chat.domains.checkConnect(username, password.toString('utf8'), Date.now(), { origin: headers?.origin, host: headers?.host })
      if (!r.ok) return refuse(r.reason)
      // Its friends are known before it can subscribe to anyone's presence (SPEC §10.3).
      const release = await this.contacts.connected(r.domainId, r.userid, r.contacts, changesSeen)
      // Before the CONNACK: whatever another node publishes for this domain from now on
      // reaches this connection once it has subscribed (what came before, `history` has).
      const domainId = r.domainId
      await this.domains?.join(domainId)
      const closed = (): void => {
        release()
        this.domains?.leave(domainId)
      }
      const conn = client.conn as Duplex & { closed?: boolean }
      if (conn.destroyed || conn.closed === true) closed()
      else conn.once('close', closed)
      client.mq = { domainId, userid: r.userid }
      client.mqHeld = new HeldAnswers()
      // Client ids live in the user's own namespace: a client cannot take over (and so
      // disconnect) another user's connection by reusing its client id [MQTT-3.1.4-2].
      client.id = `${domainId}/${r.userid}/${client.id}`
      done(null, true)
    })().catch((err) => {
      // (the check, or reading the user's friends: done has not been called yet)
      this.log.error({ err }, 'connection check failed')
      refuse('database unavailable', 3)
    })
  }

  private onPublish (client: MqClient | null, packet: { topic: string, payload: Buffer | string }, done: (err?: Error | null) => void): void {
    const me = client?.mq
    const action = me === undefined ? null : clientAction(packet.topic, me)
    if (me === undefined || action === null) {
      // SPEC §3: a refused publish is dropped and never reaches another user.
      this.log.debug({ clientId: client?.id, topic: packet.topic }, 'publish refused')
      packet.topic = DROP_TOPIC
      return done(null)
    }
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload
    // Client requests are answered on `ack`; none of them is routed on as an MQTT message.
    packet.topic = DROP_TOPIC
    const ctx: RequestContext = { chat: this.chat, log: this.log, me }
    const failed = (err: unknown): void => { this.log.error({ err, action }, 'request failed'); done(null) }
    switch (action) {
      case 'send':
        // PUBACK waits for the commit: once a client has it, the message is stored.
        send(ctx, payload).then((ack) => {
          if ('error' in ack && ack.error.code === 'unavailable') {
            // SPEC §6: never a PUBACK for what was not stored. The client hears why, then the
            // connection closes with the message unacknowledged, so the client's library
            // sends it again once it is back (and the database with it).
            this.ack(client, me, ack, () => done(new Error('database unavailable: message not stored')))
            return
          }
          this.ack(client, me, ack)
          done(null)
        }, failed)
        return
      case 'history':
        // The next packet of this client is read only once the answer is written out: a
        // client that stops reading cannot make the server buffer page after page.
        history(ctx, payload).then((ack) => this.ack(client, me, ack, () => done(null)), failed)
        return
      case 'status':
      case 'typing':
      case 'read':
      case 'call':
        // Answered only when refused. A status change's PUBACK follows its publication: once
        // a client has it, its own subscription to the presence topics (and everyone else's)
        // has been sent the change. Typing, read markers and call signals reach the peer as signals.
        ANSWERED_WHEN_REFUSED[action](ctx, payload).then((ack) => {
          if (ack !== null) this.ack(client, me, ack)
          done(null)
        }, failed)
    }
  }
}
