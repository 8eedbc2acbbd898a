// One delivery attempt over HTTP (SPEC §4.3, §4.4): signed POST, no redirects followed, at
// most MQCHAT_CALLBACK_TIMEOUT_MS, the response body read up to 1 KiB and then dropped.
// Keep-alive pools per domain and origin (undici): two customers whose receivers share a
// host (a webhook relay, a hosting platform) still never wait for each other's connections.
import { Agent } from 'undici'
import { signatureHeader } from './signing.ts'
import { checkUrl } from './ssrf.ts'
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
    const check = checkUrl(url, this.opts.allowPrivate)
    if (!check.ok) {
      const code = check.code === 'forbidden_target' ? 'FORBIDDEN_TARGET' : 'INVALID_URL'
      return { ...base, status: null, errorCode: code, errorMessage: check.message, retryAfterMs: null, responseBody: null, durationMs: 0 }
    }
    // One time limit for the whole attempt, the second try included (SPEC §4.4). A timer we
    // clear, not AbortSignal.timeout: that one fires (and allocates) after every attempt.
    const deadline = new AbortController()
    const timer = setTimeout(() => deadline.abort(), this.opts.timeoutMs)
    const agent = this.agent(pool)
    try {
      let r = await this.once(agent, check.url, requestHeaders, body, deadline.signal)
      if (r.errorCode !== null && STALE_SOCKET.has(r.errorCode) && !deadline.signal.aborted) {
        // A reused keep-alive socket can be closed by the receiver at the very moment we
        // send: try once more on a fresh connection before calling the receiver unreachable.
        r = await this.once(agent, check.url, requestHeaders, body, deadline.signal)
      }
      return { ...base, ...r, durationMs: Math.round(performance.now() - started) }
    } finally {
      clearTimeout(timer)
    }
  }

  private async once (agent: Agent, url: URL, headers: Record<string, string>, body: string | Buffer, deadline: AbortSignal): Promise<Omit<SendResult, 'requestHeaders' | 'durationMs' | 'startedAt'>> {
    try {
      const res = await agent.request({
        origin: url.origin,
        path: url.pathname + url.search,
        method: 'POST',
        headers,
        body,
        signal: deadline
      })
      const retryAfter = res.headers['retry-after']
      const retryAfterMs = parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter, Date.now())
      const responseBody = await readSome(res.body)
      return { status: res.statusCode, errorCode: null, errorMessage: null, retryAfterMs, responseBody }
    } catch (err) {
      return { status: null, ...describeError(err, deadline.aborted), retryAfterMs: null, responseBody: null }
    }
  }
}

/** The first KiB of a response; the rest is not read (the connection is then closed). */
async function readSome (body: AsyncIterable<Buffer> & { destroy: () => void }): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  try {
    for await (const chunk of body) {
      chunks.push(chunk)
      size += chunk.length
      if (size >= RESPONSE_BODY_MAX_BYTES) break
    }
  } catch {
    // The answer (its status) is in; a body cut short or too slow does not change it.
  } finally {
    body.destroy()
  }
  return utf8Prefix(Buffer.concat(chunks), RESPONSE_BODY_MAX_BYTES)
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
