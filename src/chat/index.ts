// The chat service (ChatService; the browser client's class is client/'s `Chat`): the rules of the
// product, with no I/O of its own beyond the store.
// Transports (broker/, http/) call it; it reaches them only through the Notifier.
import type { Config } from '../config.ts'
import type { Logger } from '../log.ts'
import type { Service } from '../service.ts'
import type { Store } from '../store/index.ts'
import { Calls } from './calls.ts'
import { Contacts } from './contacts.ts'
import { Conversations } from './conversations.ts'
import { Domains } from './domains.ts'
import { Erasure } from './erasure.ts'
import { Messages } from './messages.ts'
import type { Notifier } from './notifier.ts'
import { Presence, type PresenceTracker } from './presence.ts'
import { Profiles } from './profiles.ts'
import { SharedPresence } from './shared-presence.ts'
import { RateLimiter, type SharedTake } from './rate-limit.ts'
import { KeyedSerial } from './serial.ts'

export { Domains, parseUserid, parseUsername, type Principal } from './domains.ts'
export type { MessageEvent, PresenceEvent } from './events.ts'
export { Notifications, type Listener, type Notifier } from './notifier.ts'
export type { CallSignal } from './calls.ts'
export type { ConversationView } from './conversations.ts'
export { userView, type UserView } from './profiles.ts'

/** How often idle rate-limit buckets are forgotten. */
const RATE_PRUNE_INTERVAL_MS = 60_000
export type { SharedTake } from './rate-limit.ts'

/** What a user asks of the server over MQTT; each has its own bucket at MQCHAT_USER_RATE. */
export type UserRequest = 'send' | 'status' | 'history' | 'subscribe' | 'typing' | 'read'

export class ChatService implements Service {
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
  private pruneTimer: NodeJS.Timeout | null = null
  private readonly sharedTake: SharedTake | null
  private readonly userRate: { perSecond: number, burst: number }

  /**
   * `notifier` hears what the chat does (app.ts: the outbox, web push, the calls and the
   * broker). With several nodes, `opts.sharedTake` is a token bucket all nodes share: a
   * user's sends, call offers and a pair's typing notices take from it too (null: it cannot
   * be reached now, and this node's own limit holds meanwhile).
   */
  constructor (private readonly store: Store, config: Config, operatorKey: string, private readonly log: Logger, notifier: Notifier,
    opts: { publicUrl?: () => string, sharedTake?: SharedTake } = {}) {
    const publicUrl = opts.publicUrl ?? (() => config.publicUrl ?? `http://localhost:${config.httpPort}`)
    this.sharedTake = opts.sharedTake ?? null
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
    this.conversations = new Conversations(store, notifier, this.contacts, this.sharedTake)
    this.calls = new Calls(store, notifier, this.contacts, this.messages, config.callRingMs, log.child({ module: 'calls' }),
      (d, u) => this.allowSend(d, u), this.sharedTake)
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

  /** May the user send a message now: this node's bucket, and with several nodes the one they share. */
  async allowSend (domainId: string, userid: number): Promise<boolean> {
    return this.allow(domainId, userid, 'send') &&
      await this.sharedTake?.(`${domainId}/${userid}`, this.userRate.perSecond, this.userRate.burst) !== false
  }
}
