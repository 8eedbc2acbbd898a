// The chat service: the rules of the product, with no I/O of its own beyond the store.
// Transports (broker/, http/) call it; it reaches them only through the Notifier.
import { isUtf8 } from 'node:buffer'
import type { Config } from '../config.ts'
import { isAppError } from '../errors.ts'
import type { Logger } from '../log.ts'
import type { Service } from '../service.ts'
import type { Store } from '../store/index.ts'
import { Calls } from './calls.ts'
import { Contacts } from './contacts.ts'
import { Conversations, readRefusal } from './conversations.ts'
import { Domains } from './domains.ts'
import { Erasure } from './erasure.ts'
import type { MessageEvent } from './events.ts'
import { Messages } from './messages.ts'
import { nullNotifier, type EventListener, type Notifier } from './notifier.ts'
import { Presence, type PresenceTracker } from './presence.ts'
import { Profiles } from './profiles.ts'
import { SharedPresence } from './shared-presence.ts'
import { RateLimiter } from './rate-limit.ts'
import { KeyedSerial } from './serial.ts'
import {
  compile, describeValidationError, HISTORY_DEFAULT_LIMIT, MqttCall, MqttHistory, MqttRead, MqttSend, MqttStatus, MqttTyping
} from './schemas.ts'

export { Domains, parseUserid, parseUsername, type Principal } from './domains.ts'
export type { MessageEvent, PresenceEvent } from './events.ts'
export type { Notifier } from './notifier.ts'
export type { CallSignal } from './calls.ts'
export type { ConversationView } from './conversations.ts'
export { userView, type UserView } from './profiles.ts'

/** What the server answers on `chat/D/U/ack` (SPEC §3). */
export type Ack =
  | { cid: unknown, event: MessageEvent }
  | { cid: unknown, messages: MessageEvent[] }
  | { cid: unknown, error: { code: string, message: string } }

const validSend = compile(MqttSend)
const validStatus = compile(MqttStatus)
const validHistory = compile(MqttHistory)
const validTyping = compile(MqttTyping)
const validRead = compile(MqttRead)
const validCall = compile(MqttCall)

/** How often idle rate-limit buckets are forgotten. */
const RATE_PRUNE_INTERVAL_MS = 60_000
/**
 * Largest history answer: its messages are cut (newest or oldest kept, by direction) so the
 * JSON stays under this; the client pages on from the last id it got. 500 messages at their
 * limits would be ~45 MB.
 */
export const HISTORY_MAX_BYTES = 1024 * 1024

/** What a user asks of the server over MQTT; each has its own bucket at MQCHAT_USER_RATE. */
export type UserRequest = 'send' | 'status' | 'history' | 'subscribe' | 'typing' | 'read'

export class Chat implements Service {
  readonly name = 'chat'
  readonly domains: Domains
  readonly presence: PresenceTracker
  readonly messages: Messages
  readonly profiles: Profiles
  readonly conversations: Conversations
  readonly erasure: Erasure
  readonly contacts: Contacts
  readonly calls: Calls
  private readonly rate: RateLimiter
  private notifier: Notifier = nullNotifier
  private pruneTimer: NodeJS.Timeout | null = null
  private sharedTake: ((key: string, perSecond: number, burst: number) => Promise<boolean | null>) | null = null
  private readonly userRate: { perSecond: number, burst: number }

  constructor (readonly store: Store, config: Config, operatorKey: string, private readonly log: Logger, onEvent: EventListener = () => {}, publicUrl: () => string = () => config.publicUrl ?? `http://localhost:${config.httpPort}`) {
    // The notifier is attached later (the broker is built after chat); forward to it. Every
    // commit that wrote an event also tells the outbox.
    const notifier: Notifier = {
      messageStored: (d, e) => { onEvent(d); this.notifier.messageStored(d, e) },
      presenceChanged: async (d, u, b) => { onEvent(d); await this.notifier.presenceChanged(d, u, b) },
      signal: (d, u, b) => this.notifier.signal(d, u, b),
      callSignal: (d, u, s) => this.notifier.callSignal(d, u, s),
      callRecorded: (d, u, e) => this.notifier.callRecorded(d, u, e),
      userErased: (d, u) => this.notifier.userErased(d, u),
      friendsChanged: (d, us) => this.notifier.friendsChanged(d, us),
      contactsChanged: (d, c) => this.notifier.contactsChanged(d, c)
    }
    this.contacts = new Contacts(store, notifier)
    this.domains = new Domains(store, operatorKey, (d, c) => this.contacts.modeChanged(d, c))
    const userWrites = new KeyedSerial()
    // A store that several nodes can share keeps one presence for all of them.
    this.presence = store.sharedPresence === undefined
      ? new Presence(store, notifier, config.presenceGraceMs, log.child({ module: 'presence' }), userWrites)
      : new SharedPresence(store, store.sharedPresence, notifier, config.presenceGraceMs, log.child({ module: 'presence' }), userWrites)
    this.messages = new Messages(store, notifier, userWrites, publicUrl)
    this.profiles = new Profiles(store)
    this.erasure = new Erasure(store, notifier, config.presenceGraceMs, log.child({ module: 'erasure' }))
    this.conversations = new Conversations(store, notifier, this.contacts)
    this.calls = new Calls(store, notifier, this.contacts, this.messages, config.callRingMs, log.child({ module: 'calls' }),
      async (d, u) => this.allow(d, u, 'send') && await this.sharedTake?.(`${d}/${u}`, this.userRate.perSecond, this.userRate.burst) !== false)
    this.rate = new RateLimiter(config.userRate.perSecond, config.userRate.burst)
    this.userRate = config.userRate
  }

  /** Throws when the database cannot answer (/healthz). */
  ping (): Promise<void> {
    return this.store.ping()
  }

  /** What the store keeps of presence, for the transports: the list, one user, who is present. */
  get presenceRows (): Pick<Store, 'listPresence' | 'getPresence' | 'listPresent'> {
    return this.store
  }

  attach (notifier: Notifier): void {
    this.notifier = notifier
  }

  /**
   * With several nodes, a user's sends, and typing notices of a pair, also take a token from a
   * bucket all nodes share (null: that bucket cannot be reached now, and this node's own limit
   * holds meanwhile).
   */
  shareLimits (take: (key: string, perSecond: number, burst: number) => Promise<boolean | null>): void {
    this.sharedTake = take
    this.conversations.shareTypingLimit(take)
    this.calls.shareLimit(take)
  }

  async start (): Promise<void> {
    const recovered = await this.presence.recover()
    if (recovered > 0) this.log.info({ users: recovered }, 'users left present by an unclean stop are now offline')
    this.pruneTimer = setInterval(() => { this.rate.prune(); this.conversations.prune(); this.calls.prune() }, RATE_PRUNE_INTERVAL_MS).unref()
  }

  async stop (): Promise<void> {
    if (this.pruneTimer !== null) clearInterval(this.pruneTimer)
    await this.presence.stop()
    // (after presence: the offline changes of the last users end their calls, with records)
    await this.calls.stop()
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
    if (!this.allow(domainId, userid, 'send') || await this.sharedTake?.(`${domainId}/${userid}`, this.userRate.perSecond, this.userRate.burst) === false) {
      return { cid, error: { code: 'rate_limited', message: 'too many messages: slow down' } }
    }
    if (!isUtf8(payload)) return { cid, error: notUtf8 }
    if (input === NOT_JSON) return { cid, error: notJson }
    if (!validSend(input)) return { cid, error: { code: 'invalid_request', message: describeValidationError(validSend.errors) } }
    try {
      return { cid, event: await this.messages.send(domainId, userid, input) }
    } catch (err) {
      // SPEC §3, §10.3: refused by the recipient's block, or not a friend in a friends-only domain
      if (isAppError(err) && (err.code === 'blocked' || err.code === 'forbidden')) return { cid, error: err.toJSON() }
      if (isAppError(err) && err.code === 'invalid_attachment') return { cid, error: err.toJSON() }
      if (isAppError(err) && err.code === 'unavailable') {
        this.log.warn({ domainId, userid }, 'message not stored: database unreachable')
        return { cid, error: { code: 'unavailable', message: 'the message was not stored (the database cannot be reached); send it again' } }
      }
      this.log.error({ err, domainId, userid }, 'message not saved')
      return { cid, error: { code: 'internal', message: 'the message could not be saved; send it again' } }
    }
  }

  /**
   * `chat/D/U/status`: null when applied, an error ack otherwise. Resolves once the change is
   * published, so the PUBACK tells the client its subscribers have been sent it.
   */
  async statusFromUser (domainId: string, userid: number, payload: Buffer): Promise<Ack | null> {
    const input = parse(payload)
    if (!this.allow(domainId, userid, 'status')) {
      return { cid: cidOf(input), error: { code: 'rate_limited', message: 'too many status changes: slow down' } }
    }
    if (!isUtf8(payload)) return { cid: cidOf(input), error: notUtf8 }
    if (input === NOT_JSON) return { cid: null, error: notJson }
    if (!validStatus(input)) return { cid: cidOf(input), error: { code: 'invalid_request', message: describeValidationError(validStatus.errors) } }
    await this.presence.setStatus(domainId, userid, input.status)
    return null
  }

  /**
   * `chat/D/U/typing`: relayed to the peer as a signal (SPEC §3); null unless refused. A
   * repeat within the second is not an error: clients repeat it while the user types.
   */
  async typingFromUser (domainId: string, userid: number, payload: Buffer): Promise<Ack | null> {
    const input = parse(payload)
    if (!this.allow(domainId, userid, 'typing')) {
      return { cid: cidOf(input), error: { code: 'rate_limited', message: 'too many typing notices: slow down' } }
    }
    if (input === NOT_JSON) return { cid: null, error: notJson }
    if (!validTyping(input)) return { cid: cidOf(input), error: { code: 'invalid_request', message: describeValidationError(validTyping.errors) } }
    await this.conversations.typing(domainId, userid, input.to_userid)
    return null
  }

  /**
   * `chat/D/U/call` (SPEC §10.2): relayed to the peer on its `signal` topic; null unless
   * refused (`rate_limited`, `invalid_request`, `blocked`, `forbidden`), with the signal's cid.
   */
  async callFromUser (domainId: string, userid: number, payload: Buffer): Promise<Ack | null> {
    const input = parse(payload)
    const cid = cidOf(input)
    // Counted before validation: a flood of garbage is limited like a flood of signals.
    const limited = await this.calls.allow(domainId, userid)
    if (limited !== null) return { cid, error: limited }
    if (!isUtf8(payload)) return { cid, error: notUtf8 }
    if (input === NOT_JSON) return { cid, error: notJson }
    if (!validCall(input)) return { cid, error: { code: 'invalid_request', message: describeValidationError(validCall.errors) } }
    try {
      const refused = await this.calls.fromUser(domainId, userid, input)
      return refused === null ? null : { cid, error: refused }
    } catch (err) {
      this.log.warn({ err, domainId, userid }, 'call signal not relayed')
      return { cid, error: { code: isAppError(err) && err.code === 'unavailable' ? 'unavailable' : 'internal', message: 'the call signal was not relayed; send it again' } }
    }
  }

  /** `chat/D/U/read`: the read marker, stored and signalled; null when applied. */
  async readFromUser (domainId: string, userid: number, payload: Buffer): Promise<Ack | null> {
    const input = parse(payload)
    const cid = cidOf(input)
    if (!this.allow(domainId, userid, 'read')) {
      return { cid, error: { code: 'rate_limited', message: 'too many read markers: slow down' } }
    }
    if (input === NOT_JSON) return { cid, error: notJson }
    if (!validRead(input)) return { cid, error: { code: 'invalid_request', message: describeValidationError(validRead.errors) } }
    try {
      const r = await this.conversations.read(domainId, userid, input.peer, input.up_to)
      return r.ok ? null : { cid, error: { code: 'invalid_request', message: readRefusal(r, input.peer, input.up_to) } }
    } catch (err) {
      this.log.warn({ err, domainId, userid }, 'read marker not saved')
      return { cid, error: { code: isAppError(err) && err.code === 'unavailable' ? 'unavailable' : 'internal', message: 'the read marker was not saved; send it again' } }
    }
  }

  /** `chat/D/U/history`: a page of U's messages (with `peer`: of one conversation). */
  async historyFromUser (domainId: string, userid: number, payload: Buffer): Promise<Ack> {
    const input = parse(payload)
    const cid = cidOf(input)
    if (!this.allow(domainId, userid, 'history')) {
      return { cid, error: { code: 'rate_limited', message: 'too many history requests: slow down' } }
    }
    if (!isUtf8(payload)) return { cid, error: notUtf8 }
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
/** Bytes that are not UTF-8 would be decoded to U+FFFD and stored as something the user
 *  never wrote: refused instead, nothing silently changed. */
const notUtf8 = { code: 'invalid_json', message: 'payload must be UTF-8: it has bytes that are not (JSON text is UTF-8, RFC 8259 §8.1)' }

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
