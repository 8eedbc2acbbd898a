// The Redis bus between nodes (SPEC §6): what one node publishes to its MQTT clients (a
// message for an inbox, a presence change) reaches the clients of every other node. Redis
// carries only what is live: nothing accepted depends on it (PostgreSQL is the truth; a
// client that missed a publish while the bus was down catches up with `history` `after`).
//
// One channel for the cluster: every node hears every publish and hands it to its local
// broker, which delivers it to whoever is subscribed there (nobody, most often). That costs
// one Redis round trip per publish and a parse per node; see docs/performance.md, "PostgreSQL and several nodes", for the
// arithmetic. A subscriber connection can go silent after a Redis restart without an error
// (Centrifugo #1189): each node pings itself through the bus, and one that stops hearing its
// own pings reconnects.
import { Redis } from 'ioredis'
import type { Logger } from '../log.ts'
import type { Service } from '../service.ts'

/** How often a node pings itself through the bus; silence for BUS_SILENT_MS means reconnect. */
const PING_EVERY_MS = 2_000
const BUS_SILENT_MS = 6_000
/** The longest a send waits for the shared limit's answer from Redis. */
const TAKE_TIMEOUT_MS = 250

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

interface TakeCommand { mqchatTake: (key: string, perMs: string, burst: string) => Promise<number> }

export type BusHandler = (method: string, args: unknown[]) => void

export class RedisBus implements Service {
  readonly name = 'bus'
  private readonly pub: Redis
  private readonly sub: Redis
  private readonly channel: string
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
    this.pub = new Redis(url, { ...opts, lazyConnect: true, connectionName: `${prefix}pub:${nodeId}` })
    this.sub = new Redis(url, { ...opts, lazyConnect: true, connectionName: `${prefix}sub:${nodeId}` })
    for (const [name, c] of [['publisher', this.pub], ['subscriber', this.sub]] as const) {
      c.on('error', (err: Error) => this.log.debug({ err: err.message, connection: name }, 'redis error'))
    }
    this.sub.on('ready', () => {
      // ioredis subscribes again on reconnect; this is the safety net if it did not.
      this.sub.subscribe(this.channel).catch((err: Error) => this.log.warn({ err: err.message }, 'bus subscribe failed'))
    })
    this.sub.on('message', (_channel: string, text: string) => this.onMessage(text))
    this.pub.defineCommand('mqchatTake', { numberOfKeys: 1, lua: TAKE_SCRIPT })
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

  publish (method: string, args: unknown[]): void {
    if (this.pub.status !== 'ready') return
    this.sent++
    this.pub.publish(this.channel, JSON.stringify({ o: this.nodeId, m: method, a: args })).catch((err: Error) => {
      this.log.debug({ err: err.message }, 'bus publish failed')
    })
  }

  private onMessage (text: string): void {
    let msg: { o: string, m: string, a: unknown[] }
    try {
      msg = JSON.parse(text)
    } catch {
      return
    }
    if (msg.o === this.nodeId) {
      if (msg.m === '$ping') this.heard()
      return
    }
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
      this.pub.publish(this.channel, JSON.stringify({ o: this.nodeId, m: '$ping', a: [] })).catch(() => {})
    }
  }
}
