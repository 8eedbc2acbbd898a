// Web push (SPEC §10.1): the server's VAPID key, browsers' subscriptions, and a push for each
// message stored for a user who has no open connection. Queued after the message is stored
// (off the ack's path), sent by the push worker.
import { ECDH } from 'node:crypto'
import { checkTarget } from '../callbacks/index.ts'
import { Sender } from '../callbacks/sender.ts'
import type { MessageEvent } from '../chat/index.ts'
import type { Config, VapidKeys } from '../config.ts'
import { AppError } from '../errors.ts'
import type { Logger } from '../log.ts'
import type { Service } from '../service.ts'
import type { Store } from '../store/index.ts'
import { draftFor } from './payload.ts'
import { loadVapid } from './vapid.ts'
import { PushWorker, type PushObserver } from './worker.ts'

/** SPEC §10.1: at most 10 subscriptions a user (the oldest goes). */
export const SUBSCRIPTIONS_PER_USER = 10
/**
 * A user found to have no subscription is not asked about again for this long: a message to
 * an offline user costs one look-up per this time, not one per message. A subscription made
 * through this node is known at once; one made through another node, after at most this.
 */
export const NO_SUBSCRIPTION_TTL_MS = 10_000
/** Users remembered as having none, at most (then the memory starts again). */
const NO_SUBSCRIPTION_MAX = 100_000

export interface SubscriptionInput {
  endpoint: string
  keys: { p256dh: string, auth: string }
}

export interface PushOptions {
  /** is the user connected to this node now (a store that counts every node's checks them too) */
  connectedHere: (domainId: string, userid: number) => boolean
  userAgent: string
  observer: PushObserver
}

export class Push implements Service {
  readonly name = 'push'
  private keys: VapidKeys | null = null
  private readonly sender: Sender
  private readonly worker: PushWorker
  private readonly none = new Map<string, number>()
  private readonly queued = new Set<Promise<void>>()

  constructor (private readonly store: Store, private readonly config: Config, private readonly opts: PushOptions, private readonly log: Logger) {
    // Its own sender: its own connection pools, so push services and callback receivers
    // never wait for each other's connections.
    this.sender = new Sender({ timeoutMs: config.callbackTimeoutMs, allowPrivate: config.callbackAllowPrivate, userAgent: opts.userAgent })
    this.worker = new PushWorker(store, this.sender, () => this.keys!, {
      timeoutMs: config.callbackTimeoutMs, retryDelaysMs: config.pushRetryDelaysMs, userAgent: opts.userAgent
    }, opts.observer, log.child({ module: 'push-worker' }))
  }

  async start (): Promise<void> {
    const { keys, generated } = await loadVapid(this.store, this.config.vapid, this.config.publicUrl)
    this.keys = keys
    this.log.info({ publicKey: keys.publicKey, subject: keys.subject, source: this.config.vapid !== null ? 'settings' : generated ? 'generated now' : 'store' }, 'web push key')
    await this.worker.start()
  }

  async stop (): Promise<void> {
    await Promise.allSettled([...this.queued])
    await this.worker.stop()
    await this.sender.close()
  }

  /** `GET /api/v1/push/key`: the public key, base64url, for `PushManager.subscribe`. */
  get publicKey (): string {
    if (this.keys === null) throw new AppError('unavailable', 'the server is starting')
    return this.keys.publicKey
  }

  async subscribe (domainId: string, userid: number, s: SubscriptionInput, nowMs = Date.now()): Promise<{ endpoint: string, createdAt: number }> {
    await checkEndpoint(s.endpoint, this.config.callbackAllowPrivate)
    checkKeys(s.keys)
    await this.store.addPushSubscription({ domainId, userid, endpoint: s.endpoint, p256dh: s.keys.p256dh, auth: s.keys.auth, createdAt: nowMs }, SUBSCRIPTIONS_PER_USER)
    this.none.delete(`${domainId}/${userid}`)
    this.log.info({ domainId, userid }, 'push subscription added')
    return { endpoint: s.endpoint, createdAt: Math.floor(nowMs / 1000) }
  }

  async unsubscribe (domainId: string, userid: number, endpoint: string): Promise<boolean> {
    return this.store.removePushSubscription(domainId, userid, endpoint)
  }

  /**
   * A message was stored (and acked): if its recipient has no open connection, a push for
   * each subscription. Never throws and never waits: a failure here is a notification lost,
   * logged, never a message.
   */
  messageStored (domainId: string, e: MessageEvent): void {
    const to = e.to_userid
    if (to === e.from_userid) return // a note to self
    if (this.opts.connectedHere(domainId, to)) return
    const key = `${domainId}/${to}`
    const until = this.none.get(key)
    if (until !== undefined && until > Date.now()) return
    const p = this.store.queuePush(domainId, to, JSON.stringify(draftFor(domainId, e)), this.store.now()).then((r) => {
      if (r.subscriptions === 0) {
        if (this.none.size >= NO_SUBSCRIPTION_MAX) this.none.clear()
        this.none.set(key, Date.now() + NO_SUBSCRIPTION_TTL_MS)
      } else {
        this.none.delete(key)
      }
      if (r.queued > 0) this.worker.wake()
    }, (err) => {
      this.log.warn({ err: (err as Error).message, domainId, userid: to, messageId: e.message.id }, 'push not queued')
    })
    this.queued.add(p)
    void p.finally(() => this.queued.delete(p))
  }
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i

/**
 * SPEC §10.1: an endpoint is https, or http to a loopback host while
 * MQCHAT_CALLBACK_ALLOW_PRIVATE is set (tests, a push service of one's own); and it passes
 * the same guard as a callback URL.
 */
async function checkEndpoint (endpoint: string, allowPrivate: boolean): Promise<void> {
  let u: URL
  try {
    u = new URL(endpoint)
  } catch {
    throw new AppError('invalid_url', 'body.endpoint is not an absolute URL')
  }
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && allowPrivate && LOOPBACK.test(u.hostname))) {
    throw new AppError('invalid_url', allowPrivate ? 'body.endpoint must be https (or http to a loopback host)' : 'body.endpoint must be an https URL')
  }
  await checkTarget(endpoint, allowPrivate)
}

/** A browser's keys: its P-256 public key (a point on the curve, 65 bytes) and a 16-byte auth secret. */
function checkKeys (keys: { p256dh: string, auth: string }): void {
  const b64url = /^[A-Za-z0-9_-]+={0,2}$/
  const point = b64url.test(keys.p256dh) ? Buffer.from(keys.p256dh, 'base64url') : Buffer.alloc(0)
  let onCurve = false
  if (point.length === 65 && point[0] === 4) {
    try {
      ECDH.convertKey(point, 'prime256v1')
      onCurve = true
    } catch {}
  }
  if (!onCurve) throw new AppError('invalid_request', 'body.keys.p256dh must be the subscription\'s P-256 public key, base64url (65 bytes), as PushSubscription.toJSON() gives it')
  const auth = b64url.test(keys.auth) ? Buffer.from(keys.auth, 'base64url') : Buffer.alloc(0)
  if (auth.length !== 16) throw new AppError('invalid_request', 'body.keys.auth must be the subscription\'s 16-byte auth secret, base64url, as PushSubscription.toJSON() gives it')
}
