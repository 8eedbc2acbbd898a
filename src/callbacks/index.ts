// Callbacks (SPEC §4): settings, test sends, logs, replay and the event feed, around the
// dispatcher that delivers the outbox.
import { AppError } from '../errors.ts'
import type { Logger } from '../log.ts'
import type { Service } from '../service.ts'
import { activeSecrets, type CallbackRow, type EventKind, type LogRow, type Store } from '../store/index.ts'
import { newWebhookId } from '../chat/ids.ts'
import { Dispatcher, type DeliveryObserver } from './dispatcher.ts'
import { decide } from './policy.ts'
import { resolvePublic, TargetError } from './resolve.ts'
import { Sender } from './sender.ts'
import { newSigningSecret } from './signing.ts'
import { checkUrl } from './ssrf.ts'

/** How long a rotated-out secret keeps signing beside the new one (SPEC §2). */
export const SECRET_OVERLAP_MS = 24 * 3600 * 1000
/** Retention of logs and finished events (SPEC §4.5, §4.6): 7 days, and logs at least 1,000. */
export const RETENTION_MS = 7 * 24 * 3600 * 1000
export const LOGS_KEPT_PER_CALLBACK = 1000
const RETENTION_EVERY_MS = 60_000

export interface CallbacksOptions {
  timeoutMs: number
  retryDelaysMs: readonly number[]
  allowPrivate: boolean
  userAgent: string
}

/** A callback as the API shows it (SPEC §4.4): the row without its domain and rotated-out
 *  secret, times in unix seconds, and how many events wait. */
export type CallbackView = Omit<CallbackRow, 'domainId' | 'previousSecret' | 'previousSecretUntil'> & { pending: number }

const secs = (ms: number | null): number | null => ms === null ? null : Math.floor(ms / 1000)

/** A URL for the server's log: customers often put a token in the query, so only origin and path. */
function loggable (url: string | null): string | null {
  if (url === null) return null
  try {
    const u = new URL(url)
    return u.origin + u.pathname + (u.search === '' ? '' : '?…')
  } catch {
    return '(invalid URL)'
  }
}

export class Callbacks implements Service {
  readonly name = 'callbacks'
  readonly dispatcher: Dispatcher
  private readonly sender: Sender
  private retentionTimer: NodeJS.Timeout | null = null

  constructor (private readonly store: Store, private readonly opts: CallbacksOptions, observer: DeliveryObserver, private readonly log: Logger) {
    this.sender = new Sender(opts)
    this.dispatcher = new Dispatcher(store, this.sender, opts, observer, log.child({ module: 'dispatcher' }))
  }

  async start (): Promise<void> {
    await this.dispatcher.start()
    await this.retention()
    this.retentionTimer = setInterval(() => { void this.retention() }, RETENTION_EVERY_MS).unref()
  }

  async stop (): Promise<void> {
    if (this.retentionTimer !== null) clearInterval(this.retentionTimer)
    await this.dispatcher.stop()
    await this.sender.close()
  }

  /** An event was committed for `domainId`. */
  wake (domainId: string): void {
    this.dispatcher.wake(domainId)
  }

  async get (domainId: string, kind: EventKind): Promise<CallbackView> {
    return this.view(await this.store.getCallback(domainId, kind, newSigningSecret))
  }

  /** `PUT`: a new URL (checked), and/or on or off. Turning on needs a URL that passes now. */
  async update (domainId: string, kind: EventKind, patch: { url?: string, enabled?: boolean }): Promise<CallbackView> {
    if (patch.url === undefined && patch.enabled === undefined) throw new AppError('invalid_request', 'give url and/or enabled')
    const current = await this.store.getCallback(domainId, kind, newSigningSecret)
    const url = patch.url ?? current.url
    const turningOn = patch.enabled === true
    if (patch.url !== undefined || (turningOn && url !== null)) await this.checkTarget(url!)
    if (turningOn && url === null) throw new AppError('invalid_url', 'set a URL before enabling the callback')
    const now = Date.now()
    const row = await this.store.updateCallback(domainId, kind, {
      url: patch.url,
      enabled: patch.enabled,
      // Switched on: the reason it was off is history. Switched off by hand: no reason to give.
      ...(patch.enabled === true ? { disabledReason: null, disabledAt: null } : {}),
      ...(patch.enabled === false && current.enabled ? { disabledReason: null, disabledAt: now } : {})
    }, newSigningSecret)
    this.log.info({ domainId, kind, enabled: row.enabled, url: loggable(row.url) }, 'callback updated')
    return this.view(row)
  }

  async rotateSecret (domainId: string, kind: EventKind): Promise<CallbackView> {
    const current = await this.store.getCallback(domainId, kind, newSigningSecret)
    const row = await this.store.updateCallback(domainId, kind, {
      signingSecret: newSigningSecret(),
      previousSecret: current.signingSecret,
      previousSecretUntil: Date.now() + SECRET_OVERLAP_MS
    }, newSigningSecret)
    this.log.info({ domainId, kind }, 'callback signing secret rotated')
    return this.view(row)
  }

  /** Sends one sample event now and tells what the receiver did. Changes no state. */
  async test (domainId: string, kind: EventKind): Promise<{ result: 'ok' | 'failed', responseStatus: number | null, responseBody: string | null, durationMs: number, error: string | null, requestBody: string }> {
    const cb = await this.store.getCallback(domainId, kind, newSigningSecret)
    if (cb.url === null) throw new AppError('invalid_url', 'set a URL first')
    const now = Date.now()
    const ts = Math.floor(now / 1000)
    const body = kind === 'presence'
      ? JSON.stringify({ userid: 1, status: 'online', timestamp: ts })
      : JSON.stringify({ from_userid: 1, message: { id: 0, message: 'This is a test from mqchat', p1: '', p2: '', p3: '', timestamp: ts, type: 0 }, to_userid: 2 })
    const r = await this.sender.send({ pool: domainId, url: cb.url, webhookId: newWebhookId(now), body, secrets: activeSecrets(cb, now), extraHeaders: { 'mqchat-test': '1' } })
    const outcome = decide(r)
    return {
      result: outcome.action === 'delivered' ? 'ok' : 'failed',
      responseStatus: r.status,
      responseBody: r.responseBody,
      durationMs: r.durationMs,
      error: outcome.action === 'delivered' ? null : outcome.reason,
      requestBody: body
    }
  }

  async logs (domainId: string, kind: EventKind, q: { limit: number, result?: 'ok' | 'failed', before?: number }): Promise<Array<Omit<LogRow, 'domainId' | 'kind' | 'at'> & { at: number }>> {
    return (await this.store.listLogs(domainId, kind, q)).map(({ domainId: _d, kind: _k, at, ...rest }) => ({ ...rest, at: Math.floor(at / 1000) }))
  }

  /** Queues again every event of the kind since `sinceSec`, in order, with the same ids. */
  async replay (domainId: string, kind: EventKind, sinceSec: number): Promise<number> {
    const cb = await this.store.getCallback(domainId, kind, newSigningSecret)
    if (!cb.enabled || cb.url === null) throw new AppError('callback_disabled', 'enable the callback before replaying to it')
    const queued = await this.store.replay(domainId, kind, sinceSec * 1000, Date.now())
    this.log.info({ domainId, kind, since: sinceSec, queued }, 'replay queued')
    this.wake(domainId)
    return queued
  }

  async events (domainId: string, kind: EventKind, after: number, limit: number): Promise<{ items: Array<{ id: number, webhookId: string, at: number, body: unknown, delivered: boolean }>, next: number }> {
    const rows = await this.store.listEvents(domainId, kind, after, limit)
    return {
      items: rows.map((e) => ({ id: e.id, webhookId: e.webhookId, at: Math.floor(e.createdAt / 1000), body: JSON.parse(e.body), delivered: e.state === 'delivered' })),
      next: rows.at(-1)?.id ?? after
    }
  }

  private checkTarget (url: string): Promise<void> {
    return checkTarget(url, this.opts.allowPrivate)
  }

  private async view (cb: CallbackRow): Promise<CallbackView> {
    return {
      kind: cb.kind,
      url: cb.url,
      enabled: cb.enabled,
      disabledReason: cb.disabledReason,
      disabledAt: secs(cb.disabledAt),
      signingSecret: cb.signingSecret,
      pending: await this.store.countPending(cb.domainId, cb.kind),
      lastSuccessAt: secs(cb.lastSuccessAt),
      lastFailureAt: secs(cb.lastFailureAt)
    }
  }

  private async retention (): Promise<void> {
    try {
      const cutoff = Date.now() - RETENTION_MS
      // With several nodes, one prunes at a time.
      const done = await this.store.exclusively('callback-retention', async () => ({
        logs: await this.store.pruneLogs(LOGS_KEPT_PER_CALLBACK, cutoff),
        events: await this.store.pruneEvents(cutoff)
      }))
      if (done !== null && done.logs + done.events > 0) this.log.info(done, 'old callback logs and events removed')
    } catch (err) {
      this.log.error({ err }, 'retention failed')
    }
  }
}

/**
 * A URL a callback (or a push subscription's endpoint, SPEC §10.1) may use: well-formed, and
 * (unless allowed) only public addresses. Checked again at every connection.
 */
export async function checkTarget (url: string, allowPrivate: boolean): Promise<void> {
  const c = checkUrl(url, allowPrivate)
  if (!c.ok) throw new AppError(c.code, c.message)
  if (allowPrivate || c.ip !== null) return
  try {
    await resolvePublic(c.url.hostname)
  } catch (err) {
    if (err instanceof TargetError && err.code === 'FORBIDDEN_TARGET') throw new AppError('forbidden_target', err.message)
    // A name that does not exist is a mistake to point out now. A temporary DNS failure is
    // not: the address is checked again at every connection anyway.
    if (err instanceof TargetError && err.code === 'EAI_AGAIN') return
    throw new AppError('invalid_url', (err as Error).message)
  }
}
