// The chat service: the rules of the product, with no I/O of its own beyond the store.
// Transports (broker/, http/) call it; it reaches them only through the Notifier.
import type { Config } from '../config.ts'
import { isAppError } from '../errors.ts'
import type { Logger } from '../log.ts'
import type { Service } from '../service.ts'
import type { Store } from '../store/index.ts'
import { Domains } from './domains.ts'
import type { MessageEvent } from './events.ts'
import { Messages } from './messages.ts'
import { nullNotifier, type EventListener, type Notifier } from './notifier.ts'
import { Presence } from './presence.ts'
import { RateLimiter } from './rate-limit.ts'
import { KeyedSerial } from './serial.ts'
import {
  compile, describeValidationError, HISTORY_DEFAULT_LIMIT, MqttHistory, MqttSend, MqttStatus
} from './schemas.ts'

export { Domains, parseUserid, parseUsername, type Principal } from './domains.ts'
export type { MessageEvent, PresenceEvent } from './events.ts'
export type { Notifier } from './notifier.ts'

/** What the server answers on `chat/D/U/ack` (SPEC §3). */
export type Ack =
  | { cid: unknown, event: MessageEvent }
  | { cid: unknown, messages: MessageEvent[] }
  | { cid: unknown, error: { code: string, message: string } }

const validSend = compile(MqttSend)
const validStatus = compile(MqttStatus)
const validHistory = compile(MqttHistory)

/** How often idle rate-limit buckets are forgotten. */
const RATE_PRUNE_INTERVAL_MS = 60_000
/**
 * Largest history answer: its messages are cut (newest or oldest kept, by direction) so the
 * JSON stays under this; the client pages on from the last id it got. 500 messages at their
 * limits would be ~45 MB.
 */
export const HISTORY_MAX_BYTES = 1024 * 1024

/** What a user asks of the server over MQTT; each has its own bucket at MQCHAT_USER_RATE. */
export type UserRequest = 'send' | 'status' | 'history' | 'subscribe'

export class Chat implements Service {
  readonly name = 'chat'
  readonly domains: Domains
  readonly presence: Presence
  readonly messages: Messages
  private readonly rate: RateLimiter
  private notifier: Notifier = nullNotifier
  private pruneTimer: NodeJS.Timeout | null = null

  constructor (readonly store: Store, config: Config, operatorKey: string, private readonly log: Logger, onEvent: EventListener = () => {}, publicUrl: () => string = () => config.publicUrl ?? `http://localhost:${config.httpPort}`) {
    // The notifier is attached later (the broker is built after chat); forward to it. Every
    // commit that wrote an event also tells the outbox.
    const notifier: Notifier = {
      messageStored: (d, e) => { onEvent(d); this.notifier.messageStored(d, e) },
      presenceChanged: (d, u, b) => { onEvent(d); this.notifier.presenceChanged(d, u, b) }
    }
    this.domains = new Domains(store, operatorKey)
    const userWrites = new KeyedSerial()
    this.presence = new Presence(store, notifier, config.presenceGraceMs, log.child({ module: 'presence' }), userWrites)
    this.messages = new Messages(store, notifier, userWrites, publicUrl)
    this.rate = new RateLimiter(config.userRate.perSecond, config.userRate.burst)
  }

  attach (notifier: Notifier): void {
    this.notifier = notifier
  }

  async start (): Promise<void> {
    const recovered = await this.presence.recover()
    if (recovered > 0) this.log.info({ users: recovered }, 'users left present by an unclean stop are now offline')
    this.pruneTimer = setInterval(() => this.rate.prune(), RATE_PRUNE_INTERVAL_MS).unref()
  }

  async stop (): Promise<void> {
    if (this.pruneTimer !== null) clearInterval(this.pruneTimer)
    await this.presence.stop()
  }

  /**
   * May the user make this request now? Sends are limited by MQCHAT_USER_RATE; status
   * changes (each one a stored event and a callback), history pages and whole-domain
   * presence subscriptions (each a database read) get a bucket of the same size each, so no
   * user can flood the database or the customer's receiver through them either.
   */
  allow (domainId: string, userid: number, what: UserRequest): boolean {
    return this.rate.take(what === 'send' ? `${domainId}/${userid}` : `${domainId}/${userid}/${what}`)
  }

  /** `chat/D/U/send`: always answers with an ack, an event or an error. */
  async sendFromUser (domainId: string, userid: number, payload: Buffer): Promise<Ack> {
    const input = parse(payload)
    const cid = cidOf(input)
    // Counted before validation: a flood of garbage is limited like a flood of messages.
    if (!this.allow(domainId, userid, 'send')) {
      return { cid, error: { code: 'rate_limited', message: 'too many messages: slow down' } }
    }
    if (input === NOT_JSON) return { cid, error: notJson }
    if (!validSend(input)) return { cid, error: { code: 'invalid_request', message: describeValidationError(validSend.errors) } }
    try {
      return { cid, event: await this.messages.send(domainId, userid, input) }
    } catch (err) {
      if (isAppError(err) && err.code === 'invalid_attachment') return { cid, error: err.toJSON() }
      if (isAppError(err) && err.code === 'unavailable') {
        this.log.warn({ domainId, userid }, 'message not stored: database unreachable')
        return { cid, error: { code: 'unavailable', message: 'the message was not stored (the database cannot be reached); send it again' } }
      }
      this.log.error({ err, domainId, userid }, 'message not saved')
      return { cid, error: { code: 'internal', message: 'the message could not be saved; send it again' } }
    }
  }

  /** `chat/D/U/status`: null when applied, an error ack otherwise. */
  statusFromUser (domainId: string, userid: number, payload: Buffer): Ack | null {
    const input = parse(payload)
    if (!this.allow(domainId, userid, 'status')) {
      return { cid: cidOf(input), error: { code: 'rate_limited', message: 'too many status changes: slow down' } }
    }
    if (input === NOT_JSON) return { cid: null, error: notJson }
    if (!validStatus(input)) return { cid: cidOf(input), error: { code: 'invalid_request', message: describeValidationError(validStatus.errors) } }
    this.presence.setStatus(domainId, userid, input.status)
    return null
  }

  /** `chat/D/U/history`: a page of U's messages (with `peer`: of one conversation). */
  async historyFromUser (domainId: string, userid: number, payload: Buffer): Promise<Ack> {
    const input = parse(payload)
    const cid = cidOf(input)
    if (!this.allow(domainId, userid, 'history')) {
      return { cid, error: { code: 'rate_limited', message: 'too many history requests: slow down' } }
    }
    if (input === NOT_JSON) return { cid, error: notJson }
    if (!validHistory(input)) return { cid, error: { code: 'invalid_request', message: describeValidationError(validHistory.errors) } }
    if (input.before !== undefined && input.after !== undefined) {
      return { cid, error: { code: 'invalid_request', message: 'give before or after, not both' } }
    }
    const messages = await this.messages.history({
      domainId, userid, peer: input.peer, before: input.before, after: input.after, limit: input.limit ?? HISTORY_DEFAULT_LIMIT
    })
    return { cid, messages: withinBytes(messages, HISTORY_MAX_BYTES) }
  }
}

/** The first messages of a page whose JSON fits in `max` bytes (always at least one). */
function withinBytes (messages: MessageEvent[], max: number): MessageEvent[] {
  let bytes = 0
  for (let i = 0; i < messages.length; i++) {
    bytes += Buffer.byteLength(JSON.stringify(messages[i])) + 1
    if (bytes > max && i > 0) return messages.slice(0, i)
  }
  return messages
}

const NOT_JSON = Symbol('not json')
const notJson = { code: 'invalid_json', message: 'payload must be a JSON object' }

function parse (payload: Buffer): unknown {
  try {
    return JSON.parse(payload.toString('utf8'))
  } catch {
    return NOT_JSON
  }
}

/** The client's `cid`, when it sent a usable one, so that even an error ack can be matched. */
function cidOf (input: unknown): unknown {
  if (typeof input !== 'object' || input === null) return null
  const cid = (input as { cid?: unknown }).cid
  return (typeof cid === 'string' && cid.length <= 256) || typeof cid === 'number' ? cid : null
}
