// One delivery attempt over HTTP (SPEC §4.3, §4.4): signed POST, no redirects followed, at
// most MQCHAT_CALLBACK_TIMEOUT_MS, the response body read up to 1 KiB and then dropped.
// Keep-alive pools per domain and origin (undici): two customers whose receivers share a
// host (a webhook relay, a hosting platform) still never wait for each other's connections.
import { Agent, type Dispatcher } from 'undici'
import { signatureHeader } from './signing.ts'
import { checkUrl, type UrlCheck } from './ssrf.ts'
import { guardedLookup, TargetError } from './resolve.ts'
import { parseRetryAfter } from './retry.ts'
import type { AttemptResult } from './policy.ts'

export const RESPONSE_BODY_MAX_BYTES = 1024
/** Connections one domain keeps per receiver origin (its dispatcher share is as large). */
export const CONNECTIONS_PER_ORIGIN = 64
/** A domain's connection pool unused this long is closed. */
const POOL_IDLE_MS = 120_000

export interface Delivery {
  /** whose connections to use: the domain */
  pool: string
  url: string
  webhookId: string
  body: string
  secrets: string[]
  /** extra headers (a test send marks itself) */
  extraHeaders?: Record<string, string>
}

export interface SendResult extends AttemptResult {
  requestHeaders: Record<string, string>
  responseBody: string | null
  durationMs: number
  startedAt: number
}

/** Errors on a socket that a keep-alive pool may have reused just as the receiver closed it. */
const STALE_SOCKET = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET'])

export class Sender {
  private readonly pools = new Map<string, { agent: Agent, usedAt: number }>()
  private readonly sweeper: NodeJS.Timeout

  constructor (private readonly opts: { timeoutMs: number, allowPrivate: boolean, userAgent: string }) {
    this.sweeper = setInterval(() => this.closeIdle(Date.now() - POOL_IDLE_MS), POOL_IDLE_MS).unref()
  }

  async close (): Promise<void> {
    clearInterval(this.sweeper)
    await Promise.all([...this.pools.values()].map((p) => p.agent.destroy()))
    this.pools.clear()
  }

  private agent (pool: string): Agent {
    let p = this.pools.get(pool)
    if (p === undefined) {
      p = {
        agent: new Agent({
          connections: CONNECTIONS_PER_ORIGIN,
          pipelining: 1,
          keepAliveTimeout: 4_000,
          keepAliveMaxTimeout: 30_000,
          headersTimeout: this.opts.timeoutMs,
          bodyTimeout: this.opts.timeoutMs,
          connect: { timeout: this.opts.timeoutMs, ...(this.opts.allowPrivate ? {} : { lookup: guardedLookup }) }
        }),
        usedAt: 0
      }
      this.pools.set(pool, p)
    }
    p.usedAt = Date.now()
    return p.agent
  }

  private closeIdle (before: number): void {
    for (const [key, p] of this.pools) {
      if (p.usedAt < before) {
        this.pools.delete(key)
        void p.agent.close().catch(() => {})
      }
    }
  }

  /** Each URL's check, by its text (target). */
  private readonly targets = new Map<string, Target | Extract<UrlCheck, { ok: false }>>()

  /**
   * A URL's check and where it points, kept for the next delivery to it: a domain's callback
   * URL is the same for every event (measured: parsing it and reading its parts again was a
   * twentieth of the replay drain's CPU). The check is a pure function of the text (names
   * are resolved at each connection, guardedLookup); a text seen after TARGETS_KEPT others
   * is simply checked again.
   */
  private target (url: string): Target | Extract<UrlCheck, { ok: false }> {
    let t = this.targets.get(url)
    if (t === undefined) {
      const check = checkUrl(url, this.opts.allowPrivate)
      t = check.ok ? { ok: true, origin: check.url.origin, path: check.url.pathname + check.url.search } : check
      if (this.targets.size >= TARGETS_KEPT) this.targets.clear()
      this.targets.set(url, t)
    }
    return t
  }

  /** Never throws: every failure is described in the result. */
  async send (d: Delivery, nowMs = Date.now()): Promise<SendResult> {
    const timestamp = Math.floor(nowMs / 1000)
    const requestHeaders: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': this.opts.userAgent,
      'webhook-id': d.webhookId,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signatureHeader(d.secrets, d.webhookId, timestamp, d.body),
      ...d.extraHeaders
    }
    return this.post(d.pool, d.url, requestHeaders, d.body, nowMs)
  }

  /**
   * One POST with these headers, on `pool`'s connections, through the same guard as every
   * callback (the checked address is the one connected to; no redirects; one time limit).
   * Web push sends its encrypted bodies here too. Never throws.
   */
  async post (pool: string, url: string, requestHeaders: Record<string, string>, body: string | Buffer, nowMs = Date.now()): Promise<SendResult> {
    const started = performance.now()
    const base = { requestHeaders, startedAt: nowMs }
    const check = this.target(url)
    if (!check.ok) {
      const code = check.code === 'forbidden_target' ? 'FORBIDDEN_TARGET' : 'INVALID_URL'
      return { ...base, status: null, errorCode: code, errorMessage: check.message, retryAfterMs: null, responseBody: null, durationMs: 0 }
    }
    // One time limit for the whole attempt, the second try included (SPEC §4.4): one timer
    // we clear, which aborts whatever request of the attempt is under way.
    const deadline = new Deadline()
    const timer = setTimeout(() => deadline.expire(), this.opts.timeoutMs)
    const agent = this.agent(pool)
    try {
      let r = await once(agent, check, requestHeaders, body, deadline)
      if (r.errorCode !== null && STALE_SOCKET.has(r.errorCode) && !deadline.expired) {
        // A reused keep-alive socket can be closed by the receiver at the very moment we
        // send: try once more on a fresh connection before calling the receiver unreachable.
        r = await once(agent, check, requestHeaders, body, deadline)
      }
      return { ...base, ...r, durationMs: Math.round(performance.now() - started) }
    } finally {
      clearTimeout(timer)
    }
  }
}

/** Where a checked URL points: what undici is given. */
interface Target { ok: true, origin: string, path: string }

/** How many URLs' checks are kept (sender.target): far more than the callbacks in use at once. */
const TARGETS_KEPT = 1000

type Outcome = Omit<SendResult, 'requestHeaders' | 'durationMs' | 'startedAt'>

/** An attempt's time limit: what is under way when it passes is aborted and answers TIMEOUT. */
class Deadline {
  expired = false
  /** the request under way, to abort; and how to answer it at once when it has no answer yet */
  current: { controller: Dispatcher.DispatchController | null, timedOut: () => void } | null = null

  expire (): void {
    this.expired = true
    this.current?.timedOut()
    this.current?.controller?.abort(new Error('no answer within the time limit'))
  }
}

/**
 * One POST, on undici's dispatch API rather than `request`: no AbortSignal and no body
 * stream per delivery (measured: a tenth of the dispatcher's CPU went to them), only the
 * status, Retry-After and the first KiB of the body. The answer is in once the status is: a
 * body cut short, too slow or too long does not change it. Never rejects.
 */
function once (agent: Agent, url: Target, headers: Record<string, string>, body: string | Buffer, deadline: Deadline): Promise<Outcome> {
  return new Promise<Outcome>((resolve) => {
    let settled = false
    let status: number | null = null
    let retryAfterMs: number | null = null
    const chunks: Buffer[] = []
    let size = 0
    const settle = (r: Outcome): void => {
      if (settled) return
      settled = true
      deadline.current = null
      resolve(r)
    }
    const answered = (): void => settle({ status, errorCode: null, errorMessage: null, retryAfterMs, responseBody: utf8Prefix(Buffer.concat(chunks), RESPONSE_BODY_MAX_BYTES) })
    const current: NonNullable<Deadline['current']> = {
      controller: null,
      timedOut: () => { if (status === null) settle({ status: null, errorCode: 'TIMEOUT', errorMessage: 'no answer within the time limit', retryAfterMs: null, responseBody: null }) }
    }
    deadline.current = current
    agent.dispatch({ origin: url.origin, path: url.path, method: 'POST', headers, body }, {
      onRequestStart (controller) {
        if (settled) controller.abort(new Error('the attempt is over'))
        else current.controller = controller
      },
      onResponseStart (_controller, statusCode, resHeaders) {
        if (statusCode < 200) return // 1xx: the answer is still to come
        status = statusCode
        const retryAfter = resHeaders['retry-after']
        retryAfterMs = parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter, Date.now())
      },
      onResponseData (controller, chunk) {
        chunks.push(chunk)
        size += chunk.length
        // The rest is not read (the connection is then closed).
        if (size >= RESPONSE_BODY_MAX_BYTES && !settled) {
          answered()
          controller.abort(new Error('the first KiB of the answer is enough'))
        }
      },
      onResponseEnd () { answered() },
      onResponseError (_controller, err) {
        if (status !== null) answered()
        else settle({ status: null, ...describeError(err, deadline.expired), retryAfterMs: null, responseBody: null })
      }
    })
  })
}

/**
 * Text of at most `max` bytes (as UTF-8) from the start of `buf`: a character cut in two at
 * the end is left out, and invalid bytes (shown as U+FFFD, 3 bytes each) count as such.
 */
export function utf8Prefix (buf: Buffer, max: number): string {
  const text = new TextDecoder('utf-8').decode(buf.subarray(0, max), { stream: true })
  if (Buffer.byteLength(text) <= max) return text
  let bytes = 0
  let end = 0
  for (const ch of text) {
    bytes += Buffer.byteLength(ch)
    if (bytes > max) break
    end += ch.length
  }
  return text.slice(0, end)
}

function describeError (err: unknown, timedOut: boolean): { errorCode: string, errorMessage: string } {
  if (timedOut) return { errorCode: 'TIMEOUT', errorMessage: 'no answer within the time limit' }
  if (err instanceof TargetError) return { errorCode: err.code, errorMessage: err.message }
  const e = err as { code?: string, message?: string, cause?: { code?: string, message?: string } }
  // undici wraps socket errors: the cause carries the system code (ECONNREFUSED, …)
  const code = e.cause?.code ?? e.code ?? 'UNKNOWN'
  const message = e.cause?.message ?? e.message ?? String(err)
  return { errorCode: code, errorMessage: message }
}
