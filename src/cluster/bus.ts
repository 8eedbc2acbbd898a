// The Redis bus between nodes (SPEC §6): what one node publishes to its MQTT clients (a
// message for an inbox, a presence change) reaches the clients of every other node. Redis
// carries only what is live: nothing accepted depends on it (PostgreSQL is the truth; a
// client that missed a publish while the bus was down catches up with `history` `after`).
//
// A channel per domain (`<prefix>bus:<domain>`), as Centrifuge's Redis broker keeps one per
// channel: a node subscribes to a domain's channel while it serves a connection of that
// domain (the broker joins before its CONNACK) and leaves it LEAVE_AFTER_MS after the last
// one closed, so a node hears only what it serves and its cost grows with its own traffic,
// not the cluster's. Each publish costs one Redis command (pipelined per tick) and a parse on
// each node that serves the domain; see docs/performance.md, "PostgreSQL and several nodes",
// for the arithmetic. A subscriber connection can go silent after a Redis restart without an
// error (Centrifugo #1189): each node pings itself through the bus's own channel
// (`<prefix>bus`), and one that stops hearing its own pings reconnects.
import { Redis } from 'ioredis'
import type { Logger } from '../log.ts'
import type { Service } from '../service.ts'

/** How often a node pings itself through the bus; silence for BUS_SILENT_MS means reconnect. */
const PING_EVERY_MS = 2_000
const BUS_SILENT_MS = 6_000
/** The longest a send waits for the shared limit's answer from Redis. */
const TAKE_TIMEOUT_MS = 250
/** The longest a connection waits for its domain's channel to be subscribed (a half-open Redis). */
const JOIN_TIMEOUT_MS = 250
/** A domain's channel is left this long after this node's last connection of it closed (a reload, a flaky network). */
export const LEAVE_AFTER_MS = 30_000

// Tokens refill at ARGV[1] per ms up to ARGV[2]; the key expires once it would be full again.
const TAKE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(b[1]) or burst
local at = tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local ok = 0
if tokens >= 1 then tokens = tokens - 1; ok = 1 end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate) + 1000)
return ok`

/** The body of a node's ping to itself. */
const PING = JSON.stringify({ m: '$ping', a: [] })

interface TakeCommand { mqchatTake: (key: string, perMs: string, burst: string) => Promise<number> }

export type BusHandler = (method: string, args: unknown[]) => void

export class RedisBus implements Service {
  readonly name = 'bus'
  private readonly pub: Redis
  private readonly sub: Redis
  /** the bus's own channel: pings */
  private readonly channel: string
  /** the domains this node serves: their local connections, and the leave that is due */
  private readonly joined = new Map<string, { connections: number, subscribed: Promise<void>, leaving: NodeJS.Timeout | null }>()
  private timer: NodeJS.Timeout | null = null
  private lastHeardAt = 0
  private up = false
  private handler: BusHandler = () => {}
  /** bus messages sent and received, for metrics */
  sent = 0
  received = 0

  constructor (url: string, private readonly prefix: string, private readonly nodeId: string, private readonly log: Logger) {
    this.channel = `${prefix}bus`
    // No offline queue: while Redis is away a publish fails at once instead of piling up in
    // memory; the node keeps serving its own users meanwhile.
    const opts = { enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: (n: number) => Math.min(100 * n, 2000) }
    // Auto-pipelining: the publishes and rate-limit takes of one event-loop tick go to Redis
    // in one write (in order, on the one connection), instead of a write and a read each.
    this.pub = new Redis(url, { ...opts, enableAutoPipelining: true, lazyConnect: true, connectionName: `${prefix}pub:${nodeId}` })
    this.sub = new Redis(url, { ...opts, lazyConnect: true, connectionName: `${prefix}sub:${nodeId}` })
    for (const [name, c] of [['publisher', this.pub], ['subscriber', this.sub]] as const) {
      c.on('error', (err: Error) => this.log.debug({ err: err.message, connection: name }, 'redis error'))
    }
    this.sub.on('ready', () => {
      // ioredis subscribes again on reconnect; this is the safety net if it did not.
      this.sub.subscribe(this.channel, ...[...this.joined.keys()].map((d) => this.domainChannel(d)))
        .catch((err: Error) => this.log.warn({ err: err.message }, 'bus subscribe failed'))
    })
    this.sub.on('message', (_channel: string, text: string) => this.onMessage(text))
    this.pub.defineCommand('mqchatTake', { numberOfKeys: 1, lua: TAKE_SCRIPT })
  }

  private domainChannel (domainId: string): string {
    return `${this.channel}:${domainId}`
  }

  /**
   * A connection of `domainId` is served here: resolves once the domain's channel is heard
   * (at once when it already is; without Redis, or after JOIN_TIMEOUT_MS, all the same: the
   * subscriber subscribes it when Redis is back).
   */
  join (domainId: string): Promise<void> {
    const j = this.joined.get(domainId)
    if (j !== undefined) {
      j.connections++
      if (j.leaving !== null) clearTimeout(j.leaving)
      j.leaving = null
      return j.subscribed
    }
    let timer: NodeJS.Timeout | undefined
    const subscribed = this.sub.status !== 'ready'
      ? Promise.resolve()
      : Promise.race([
        this.sub.subscribe(this.domainChannel(domainId)).then(() => {}, (err: Error) => this.log.warn({ err: err.message, domainId }, 'bus subscribe failed')),
        new Promise<void>((resolve) => { timer = setTimeout(resolve, JOIN_TIMEOUT_MS) })
      ]).finally(() => clearTimeout(timer))
    this.joined.set(domainId, { connections: 1, subscribed, leaving: null })
    return subscribed
  }

  /** One connection of `domainId` closed here; the last one's domain is left a while later. */
  leave (domainId: string): void {
    const j = this.joined.get(domainId)
    if (j === undefined || --j.connections > 0) return
    j.leaving = setTimeout(() => {
      this.joined.delete(domainId)
      if (this.sub.status === 'ready') this.sub.unsubscribe(this.domainChannel(domainId)).catch(() => {})
    }, LEAVE_AFTER_MS)
    j.leaving.unref()
  }

  /** The domains whose channels this node hears (or is about to leave). */
  get domains (): string[] {
    return [...this.joined.keys()]
  }

  onReceive (handler: BusHandler): void {
    this.handler = handler
  }

  async start (): Promise<void> {
    // Redis that is down at start is not fatal: each node serves its own users, and the bus
    // joins when Redis comes (SPEC §6).
    await Promise.all([this.pub.connect(), this.sub.connect()]).catch((err: Error) => {
      this.log.warn({ err: err.message }, 'Redis is not reachable; serving this node\'s users alone until it is')
    })
    this.lastHeardAt = Date.now()
    this.timer = setInterval(() => this.ping(), PING_EVERY_MS)
    this.timer.unref()
    this.ping()
  }

  async stop (): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer)
    for (const j of this.joined.values()) if (j.leaving !== null) clearTimeout(j.leaving)
    this.pub.disconnect()
    this.sub.disconnect()
  }

  /** True while this node hears its own pings: publishes reach the other nodes. */
  get healthy (): boolean {
    return this.up
  }

  /**
   * One token of a user's send bucket shared by every node (SPEC §1: the limit holds across
   * them): a token bucket in Redis, refilled by Redis's clock, in one atomic script. Without
   * Redis it answers null, and each node's own bucket is the limit meanwhile.
   */
  async take (key: string, perSecond: number, burst: number): Promise<boolean | null> {
    if (this.pub.status !== 'ready') return null
    let timer: NodeJS.Timeout | undefined
    try {
      // A defined command: EVALSHA, the script's text sent only when Redis does not have it.
      const taken = (this.pub as unknown as TakeCommand).mqchatTake(`${this.prefix}rate:${key}`, String(perSecond / 1000), String(burst))
      // A connection that went half-open answers nothing: the send (or typing notice) waiting
      // on it must not, so after TAKE_TIMEOUT_MS this node's own limit decides.
      const late = new Promise<null>((resolve) => { timer = setTimeout(() => resolve(null), TAKE_TIMEOUT_MS) })
      const answer = await Promise.race([taken, late])
      return answer === null ? null : answer === 1
    } catch {
      return null
    } finally {
      clearTimeout(timer)
    }
  }

  /** `args[0]` is the domain (every Notifier method's first argument): its channel carries it. */
  publish (method: string, args: unknown[]): void {
    if (this.pub.status !== 'ready' || typeof args[0] !== 'string') return
    this.sent++
    this.pub.publish(this.domainChannel(args[0]), this.frame(method, args)).catch((err: Error) => {
      this.log.debug({ err: err.message }, 'bus publish failed')
    })
  }

  /**
   * A bus message: the sending node's id, a line break, then `{"m": method, "a": args}`. A
   * node hears its own publishes on the domains it serves too: it knows them by the first
   * line and drops them without parsing the rest.
   */
  private frame (method: string, args: unknown[]): string {
    return `${this.nodeId}\n${JSON.stringify({ m: method, a: args })}`
  }

  private onMessage (text: string): void {
    const cut = text.indexOf('\n')
    if (cut < 0) return
    if (cut === this.nodeId.length && text.startsWith(this.nodeId)) {
      if (text.slice(cut + 1) === PING) this.heard()
      return
    }
    let msg: { m: string, a: unknown[] }
    try {
      msg = JSON.parse(text.slice(cut + 1))
    } catch {
      return
    }
    if (typeof msg?.m !== 'string' || !Array.isArray(msg.a)) return
    this.received++
    this.handler(msg.m, msg.a)
  }

  private heard (): void {
    this.lastHeardAt = Date.now()
    if (!this.up) {
      this.up = true
      this.log.info('the bus between nodes is up')
    }
  }

  private ping (): void {
    if (Date.now() - this.lastHeardAt > BUS_SILENT_MS) {
      if (this.up) this.log.warn('the bus between nodes went silent; reconnecting to Redis')
      this.up = false
      this.lastHeardAt = Date.now()
      // A silent subscriber, or a publisher whose pings go nowhere: drop both connections;
      // ioredis reconnects them (and subscribes again).
      this.sub.disconnect(true)
      this.pub.disconnect(true)
    }
    if (this.pub.status === 'ready') {
      this.pub.publish(this.channel, `${this.nodeId}\n${PING}`).catch(() => {})
    }
  }
}
