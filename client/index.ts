// The browser client of SPEC §9, served as /client.js (an ES module): a site that draws its own
// chat calls `connect({ url, domain, getToken })`. Everything here is browser code with no I/O
// but the network: MQTT over WebSocket for live traffic (SPEC §3), REST with the user's token for
// conversations, profiles and uploads (SPEC §2, §8).
//
// MQTT is client/link.ts over our own few packets (client/mqtt-codec.ts says why). This file
// keeps the connection (reconnecting with growing, jittered waits: a restarting server must
// not be hit by every client at the same instant), pairs requests with their acks, and
// catches up after each reconnect; the token is session.ts, the sends not yet stored
// unsent.ts, the REST calls rest.ts, calls call.ts. Longer than 300 lines because the
// connection, the catch-up and the acks share one state (what is seen, what is in flight).
import type { CallSignal, MessageEvent, PresenceEvent, ReadSignal } from '../protocol/wire.ts'
import { Call, CallDesk } from './call.ts'
import { LinkError, openLink, type Link } from './link.ts'
import { Listeners } from './listeners.ts'
import { backoffMs, claimsOf, type Claims } from './logic.ts'
import { Rest, type Conversation, type Profile, type UploadedFile } from './rest.ts'
import { ChatError, Session } from './session.ts'
import { Unsent, type Pending } from './unsent.ts'

export type { MessageEvent, PresenceEvent } from '../protocol/wire.ts'
export type { Conversation, Profile, UploadedFile } from './rest.ts'
export { ChatError } from './session.ts'
/** A read marker that moved (the wire's read signal, without its kind). */
export type ReadEvent = Omit<ReadSignal, 'kind'>
export type ConnectionState = 'connecting' | 'online' | 'offline'
export { Call, type CallEnd, type CallState } from './call.ts'

export interface ConnectOptions {
  /** the mqchat server, e.g. `https://chat.example.com` */
  url: string
  domain: string
  /** the user's token (SPEC §2 Tokens); called again before it expires */
  getToken: () => string | Promise<string>
}

type Events = {
  message: MessageEvent
  presence: PresenceEvent
  typing: { from_userid: number }
  read: ReadEvent
  connection: ConnectionState
  /** an incoming call (SPEC §10.2), ringing: `accept()` or `decline()` it */
  call: Call
}
type Listener<K extends keyof Events> = (value: Events[K]) => void

/** How long a request waits for its ack before it is answered with `timeout`. */
const ACK_TIMEOUT_MS = 15_000
/** A catch-up asks this many messages at a time (the server's largest `after` page). */
const CATCH_UP_LIMIT = 500

export class Chat {
  readonly userid: number
  readonly domain: string
  state: ConnectionState = 'connecting'
  private client: Link | null = null
  /** a connection is being opened (a token renewed, a CONNACK awaited) */
  private opening = false
  private readonly listeners = new Listeners<Events>()
  private readonly waiting = new Map<string, { resolve: (v: any) => void, reject: (e: Error) => void, timer: ReturnType<typeof setTimeout> }>()
  /** the sends not yet stored */
  private readonly unsent: Unsent
  /** ids already handed to listeners: a message is reported once, whatever path it came by */
  private readonly seen = new Set<number>()
  /**
   * Where a catch-up starts: the highest id the server's own answers have covered, the
   * baseline at connect and each catch-up page (SPEC §3 history `after`). Ids commit in id
   * order within a domain, so a page that ends at an id holds every message of this user up
   * to it: this point cannot skip one. A message given live never moves it: a live id says
   * nothing of a lower one whose publish was lost (the bus between nodes was down, the
   * connection dropped with it in flight), so what came live since the last catch-up is asked
   * for again, and dropped by id. Nor does a REST page of one conversation (`history`).
   */
  private point = 0
  /** the point was set from the server's newest message once: from then on, `after` is exact */
  private baselined = false
  /** read markers set while offline, the latest per peer: published on the next connection */
  private readonly unsentReads = new Map<number, number>()
  private attempt = 0
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null
  private closed = false
  private seq = 0
  private readonly watched = new Set<number>()
  private watchingAll = false
  private catchingUp: Promise<void> | null = null
  private desk: CallDesk | null = null

  /** the user's token, renewed before it expires */
  private readonly session: Session
  /** what this client asks over REST */
  private readonly api: Rest

  constructor (private readonly opts: ConnectOptions, token: string, claims: Claims) {
    this.session = new Session(opts.getToken, token, claims)
    this.userid = this.session.userid
    this.domain = opts.domain
    this.api = new Rest(this.base, this.domain, this.session)
    // (the storage key keeps its first name: sends a visitor left unsent before an upgrade are kept)
    this.unsent = new Unsent(`mqchat:outbox:${this.domain}/${this.userid}`)
  }

  private get base (): string { return this.opts.url.replace(/\/+$/, '') }
  private topic (leaf: string): string { return `chat/${this.domain}/${this.userid}/${leaf}` }

  on<K extends keyof Events> (event: K, fn: Listener<K>): () => void {
    return this.listeners.on(event, fn)
  }

  private emit<K extends keyof Events> (event: K, value: Events[K]): void {
    this.listeners.emit(event, value)
  }

  /** Opens the connection; resolves once connected the first time (rejects if refused). */
  async start (): Promise<void> {
    this.unsent.restore((e) => this.emit('message', e))
    if (typeof window !== 'undefined') {
      window.addEventListener('online', this.wake)
      document.addEventListener('visibilitychange', this.wake)
    }
    this.session.schedule()
    await this.open(true)
  }

  /** The page came back (network, tab shown): reconnect now or catch up. */
  private readonly wake = (): void => {
    if (this.closed || (typeof document !== 'undefined' && document.visibilityState === 'hidden')) return
    if (this.state === 'online') void this.catchUp()
    else if (this.client === null && !this.opening) this.reconnectNow()
  }

  private reconnectNow (): void {
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer)
    this.reconnectTimer = null
    void this.open(false).catch(() => {})
  }

  private async open (first: boolean): Promise<void> {
    if (this.closed || this.client !== null || this.opening) return
    this.opening = true
    try {
      await this.openOnce(first)
    } finally {
      this.opening = false
    }
  }

  private async openOnce (first: boolean): Promise<void> {
    if (this.session.expiring) {
      try {
        await this.session.renew()
      } catch (err) {
        // The site's token endpoint is down too: try again later, as for the server.
        if (first) throw err
        this.scheduleReconnect()
        return
      }
    }
    const wsUrl = this.base.replace(/^http/, 'ws') + '/mqtt'
    this.setState('connecting')
    let link: Link
    try {
      link = await openLink({
        url: wsUrl,
        clientId: `web-${this.userid}-${Math.random().toString(36).slice(2, 10)}`,
        username: `${this.domain}/${this.userid}`,
        password: this.session.token,
        keepAlive: 60,
        connectTimeoutMs: 10_000,
        onMessage: (topic, payload) => this.onPacket(topic, payload),
        onClose: () => this.lost(link)
      })
    } catch (err) {
      // A refused CONNECT (bad or expired token): a fresh token is asked for on the next try.
      if (err instanceof LinkError && err.code === 'refused') this.session.refused()
      this.setState('offline')
      if (first) throw new ChatError(err instanceof LinkError && err.code === 'refused' ? 'not_authorized' : 'unreachable', (err as Error).message)
      this.scheduleReconnect()
      return
    }
    if (this.closed) { link.close(); return }
    this.client = link
    const granted = await link.subscribe([this.topic('inbox'), this.topic('ack'), this.topic('signal')])
    if (!granted) {
      link.close()
      if (first) throw new ChatError('unreachable', 'the server refused the subscriptions')
      return
    }
    if (this.client !== link) return
    if (first) {
      // Where this client's messages start: connect() resolves with it known, so that nothing
      // stored after is missed, however soon the connection drops.
      try {
        await this.baseline()
      } catch (err) {
        link.close()
        throw new ChatError('unreachable', (err as Error).message)
      }
    }
    // Watched presence topics each on their own: one refused (the subscription cap) is dropped
    // from the watch, and never keeps the client offline.
    for (const u of this.watched) this.subscribePresence(u)
    if (this.watchingAll) void link.subscribe([`chat/${this.domain}/+/presence`])
    this.attempt = 0
    this.setState('online')
    this.afterConnect()
  }

  private subscribePresence (userid: number): void {
    void this.client?.subscribe([`chat/${this.domain}/${userid}/presence`]).then((ok) => {
      if (!ok && this.client !== null) this.watched.delete(userid)
    })
  }

  /** The connection ended: what was in flight is settled by the next catch-up. */
  private lost (link: Link): void {
    if (this.client !== link) return
    this.client = null
    this.unsent.connectionLost()
    this.rejectWaiting(new ChatError('offline', 'the connection was lost'))
    this.setState('offline')
    this.scheduleReconnect()
  }

  /** Every request waiting for its ack is answered with `err`. */
  private rejectWaiting (err: ChatError): void {
    for (const w of this.waiting.values()) { clearTimeout(w.timer); w.reject(err) }
    this.waiting.clear()
  }

  private scheduleReconnect (): void {
    if (this.closed || this.reconnectTimer !== null) return
    const wait = backoffMs(this.attempt++, Math.random())
    this.reconnectTimer = setTimeout(() => { this.reconnectTimer = null; void this.open(false).catch(() => {}) }, wait)
  }

  private setState (s: ConnectionState): void {
    if (this.state === s) return
    this.state = s
    this.emit('connection', s)
  }

  private afterConnect (): void {
    for (const [peer, upTo] of this.unsentReads) this.read(peer, upTo)
    // Catch-up first: it settles the sends whose ack was lost, then flushes what still waits.
    void this.catchUp()
  }

  /** The newest message of this user, once (REST, most recent conversation first): the catch-up's start. */
  private async baseline (): Promise<void> {
    const conversations = await this.api.conversations({ limit: 1 })
    const newest = conversations[0]?.last?.message.id ?? 0
    this.point = Math.max(this.point, newest)
    this.baselined = true
  }

  /**
   * Catch-up (SPEC §3 history `after`): every message to or from this user above the point, page
   * by page. A send whose ack was lost with the connection is found here (the same peer, text and
   * fields, from this user) and settled with the stored message instead of being sent twice.
   */
  catchUp (): Promise<void> {
    this.catchingUp ??= (async () => {
      let done = false
      try {
        if (!this.baselined) await this.baseline()
        let after = this.point
        for (;;) {
          const messages = await this.request<MessageEvent[]>('history', { after, limit: CATCH_UP_LIMIT }, 'messages')
          const sorted = [...messages].sort((a, b) => a.message.id - b.message.id)
          for (const m of sorted) {
            // (an own message already settled, given again by the slack, settles nothing)
            if (m.from_userid === this.userid && !this.seen.has(m.message.id)) {
              const p = this.unsent.matching(m)
              if (p !== undefined) {
                this.unsent.take(p)
                this.deliverOwn(m)
                p.resolve(m)
              }
            }
            this.deliver(m)
          }
          const last = sorted.at(-1)?.message.id ?? after
          // Everything up to the page's last id is here (a page cut to its byte budget keeps
          // its first messages): the next catch-up starts there.
          this.point = Math.max(this.point, last)
          if (messages.length < CATCH_UP_LIMIT || last <= after) break
          after = last
        }
        done = true
      } catch {} finally {
        this.catchingUp = null
        // Only a finished catch-up has settled the sends of unknown fate: until then nothing
        // waiting is sent (it could be stored already), and the catch-up is tried again.
        if (this.state === 'online') {
          if (done) this.flush()
          else setTimeout(() => { if (this.state === 'online') void this.catchUp() }, backoffMs(1, Math.random()))
        }
      }
    })()
    return this.catchingUp
  }

  private deliver (m: MessageEvent): void {
    const id = m.message.id
    if (this.seen.has(id)) return
    this.seen.add(id)
    // SPEC §10.2: the server's record of a call this tab may be ringing for
    if (m.message.type === 5) this.desk?.record(m.message.p1, m.message.message)
    this.emit('message', m)
  }


  private onPacket (topic: string, payload: Uint8Array): void {
    let body: any
    try { body = JSON.parse(new TextDecoder().decode(payload)) } catch { return }
    const leaf = topic.slice(topic.lastIndexOf('/') + 1)
    if (leaf === 'inbox') this.deliver(body)
    else if (leaf === 'presence') this.emit('presence', body)
    else if (leaf === 'signal') {
      if (body.kind === 'typing') this.emit('typing', { from_userid: body.from_userid })
      else if (body.kind === 'read') this.emit('read', { userid: body.userid, peer: body.peer, up_to: body.up_to, timestamp: body.timestamp })
      else if (body.kind === 'call') this.calls().signal(body as CallSignal)
    } else if (leaf === 'ack') {
      const w = this.waiting.get(String(body.cid))
      if (w === undefined) {
        if (body.event !== undefined) this.othersAck(body.cid, body.event)
        if (body.error !== undefined && typeof body.cid === 'string') this.desk?.ack(body.cid, body.error.code)
        return
      }
      this.waiting.delete(String(body.cid))
      clearTimeout(w.timer)
      if (body.error !== undefined) w.reject(new ChatError(body.error.code, body.error.message))
      else w.resolve(body)
    }
  }

  /**
   * An ack this connection is not waiting for, with a stored message: this user's own, sent
   * from another tab (its ack reaches every connection of the user), or by the site's server
   * for it (no cid). Reported as a message, live. One of this tab's own sends whose wait ran
   * out is settled by it instead, as its ack would have.
   */
  private othersAck (cid: unknown, event: MessageEvent): void {
    if (event?.from_userid !== this.userid || typeof event.message?.id !== 'number') return
    const p = this.unsent.byCid(cid)
    if (p !== undefined) {
      this.unsent.take(p)
      this.deliverOwn(event)
      p.resolve(event)
      return
    }
    this.deliver(event)
  }

  private nextCid (): string { return `${Date.now().toString(36)}-${(++this.seq).toString(36)}-${Math.random().toString(36).slice(2, 8)}` }

  /** Publishes to one of this user's topics and waits for the ack with the same cid. */
  private request<T> (leaf: string, body: Record<string, unknown>, field: 'messages' | 'event', cid = this.nextCid()): Promise<T> {
    const client = this.client
    if (client === null || this.state !== 'online') return Promise.reject(new ChatError('offline', 'not connected'))
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => { this.waiting.delete(cid); reject(new ChatError('timeout', 'no answer')) }, ACK_TIMEOUT_MS)
      this.waiting.set(cid, { resolve: (a) => resolve(a[field]), reject, timer })
      client.publish(this.topic(leaf), JSON.stringify({ ...body, cid }))
    })
  }

  /**
   * Sends a message (a promise of the stored message event). Written while offline, it waits and
   * goes out once on return: by its cid, and never again once the server has stored it.
   */
  send (to: number, text: string, opts: { type?: number, p1?: string, p2?: string, p3?: string } = {}): Promise<MessageEvent> {
    if (this.closed) return Promise.reject(new ChatError('closed', 'the chat was closed'))
    return new Promise((resolve, reject) => {
      const p: Pending = {
        cid: this.nextCid(),
        body: { to_userid: to, message: text, type: opts.type ?? 0, p1: opts.p1 ?? '', p2: opts.p2 ?? '', p3: opts.p3 ?? '' },
        published: false,
        resolve,
        reject
      }
      this.unsent.add(p)
      if (this.state === 'online' && this.catchingUp === null) this.publishPending(p)
    })
  }

  /** Sends what waits, oldest first (after a catch-up has settled the ones whose fate was unknown). */
  private flush (): void {
    for (const p of this.unsent.waiting()) this.publishPending(p)
  }

  private publishPending (p: Pending): void {
    this.unsent.publishing(p)
    this.request<MessageEvent>('send', p.body, 'event', p.cid).then((event) => {
      this.unsent.take(p)
      this.deliverOwn(event)
      p.resolve(event)
    }, (err: ChatError) => {
      // Lost with the connection (offline/timeout): kept, its fate settled by the next catch-up.
      if (err.code === 'offline' || err.code === 'timeout') {
        this.unsent.unanswered(p)
        if (err.code === 'timeout') void this.catchUp()
        return
      }
      // Not stored (the server's database is out of reach; the server closes the connection):
      // kept, and sent again once connected.
      if (err.code === 'unavailable') {
        this.unsent.notStored(p)
        return
      }
      this.unsent.take(p)
      p.reject(err)
    })
  }

  private deliverOwn (m: MessageEvent): void {
    this.seen.add(m.message.id)
  }

  /** Messages written and not yet stored (offline), oldest first. */
  pending (): Array<{ cid: string, to_userid: number, message: string, type: number }> {
    return this.unsent.all().map((p) => ({ cid: p.cid, to_userid: p.body.to_userid, message: p.body.message, type: p.body.type }))
  }

  /** A page of the conversation with peer, newest first (REST; works while MQTT reconnects). */
  async history (peer: number, opts: { before?: number, limit?: number } = {}): Promise<MessageEvent[]> {
    const messages = await this.api.history(peer, opts)
    // Marked seen (not reported again), but the catch-up point stays: see `point`.
    for (const m of messages) this.seen.add(m.message.id)
    return messages
  }

  // What the client asks over REST (rest.ts), on this object for the sites that use it.
  conversations (opts: { limit?: number } = {}): Promise<Conversation[]> { return this.api.conversations(opts) }
  /** One page of the domain's online users (SPEC §2), never the whole domain's presence feed. */
  onlineUsers (opts: { after?: number, limit?: number } = {}): Promise<{ users: Profile[], next: number | null }> { return this.api.onlineUsers(opts) }
  profile (userid: number): Promise<Profile> { return this.api.profile(userid) }
  /** The user's friends with their profile and presence (SPEC §10.3), by userid. */
  friends (): Promise<Profile[]> { return this.api.friends() }
  /** Uploads a picture or a record (SPEC §8); the answer's `url` goes in a type 2, 3 or 4 message. */
  upload (file: Blob): Promise<UploadedFile> { return this.api.upload(file) }
  /** SPEC §10.1: the server's web push key, this browser's subscription for the user, and its removal. */
  pushKey (): Promise<string> { return this.api.pushKey() }
  subscribePush (subscription: { endpoint?: string, keys?: Record<string, string> }): Promise<void> { return this.api.subscribePush(subscription) }
  renewPush (worker: string): Promise<void> { return this.api.renewPush(worker) }
  unsubscribePush (endpoint: string): Promise<void> { return this.api.unsubscribePush(endpoint) }

  /** Watches one user's presence (one topic each, SPEC §3: the retained event comes at once). */
  watch (userid: number): void {
    if (this.watched.has(userid) || userid === this.userid) return
    this.watched.add(userid)
    if (this.state === 'online') this.subscribePresence(userid)
  }

  /**
   * Watches the whole domain's presence (the wildcard of SPEC §3), on or off: when on, at once
   * the users who are not offline, then each change as it happens. For a list of who is online
   * while it is on screen only: every presence change of the domain reaches a client that watches.
   */
  watchAll (on: boolean): void {
    if (this.watchingAll === on) return
    this.watchingAll = on
    const topic = `chat/${this.domain}/+/presence`
    if (this.state !== 'online' || this.client === null) return
    if (on) void this.client.subscribe([topic])
    else this.client.unsubscribe([topic])
  }

  typing (to: number): void {
    if (this.state === 'online') this.client?.publish(this.topic('typing'), JSON.stringify({ to_userid: to }))
  }

  /** Moves the read marker (SPEC §3); set while offline, it goes out on the next connection. */
  read (peer: number, upTo: number): void {
    if ((this.unsentReads.get(peer) ?? 0) > upTo) return
    if (this.state === 'online' && this.client !== null) {
      this.unsentReads.delete(peer)
      this.client.publish(this.topic('read'), JSON.stringify({ peer, up_to: upTo }))
    } else {
      this.unsentReads.set(peer, upTo)
    }
  }

  /**
   * Calls `peer` (SPEC §10.2), with sound, and video with `{video: true}`: the call at once,
   * `calling` until answered; `on('state')` and `on('track')` follow it, `hangup()` ends it.
   */
  call (peer: number, opts: { video?: boolean } = {}): Call {
    return this.calls().place(peer, opts)
  }

  /** The call not yet ended, if any (one at a time: another incoming one is declined). */
  get currentCall (): Call | null {
    return this.desk?.current ?? null
  }

  private calls (): CallDesk {
    this.desk ??= new CallDesk({
      userid: this.userid,
      publish: (body) => {
        if (this.state !== 'online' || this.client === null) return false
        this.client.publish(this.topic('call'), JSON.stringify(body))
        return true
      },
      iceServers: () => this.api.iceServers(),
      incoming: (call) => this.emit('call', call)
    })
    return this.desk
  }

  setStatus (status: 'online' | 'away' | 'busy'): void {
    this.client?.publish(this.topic('status'), JSON.stringify({ status }))
  }

  /** Closes the connection for good. */
  close (): void {
    this.closed = true
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer)
    this.session.close()
    if (typeof window !== 'undefined') {
      window.removeEventListener('online', this.wake)
      document.removeEventListener('visibilitychange', this.wake)
    }
    this.desk?.hangUpAll()
    const client = this.client
    this.client = null
    client?.close()
    // Every promise this client gave settles: what was not sent is not sent.
    const closed = new ChatError('closed', 'the chat was closed')
    this.rejectWaiting(closed)
    this.unsent.rejectAll(closed)
    this.setState('offline')
  }
}

/** Connects a user (SPEC §9): resolves once the first connection is up. */
export async function connect (opts: ConnectOptions): Promise<Chat> {
  const token = await opts.getToken()
  const chat = new Chat(opts, token, claimsOf(token))
  try {
    await chat.start()
  } catch (err) {
    // Refused or unreachable on the first try: the caller decides whether to try again.
    chat.close()
    throw err
  }
  return chat
}
