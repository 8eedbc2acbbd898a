// What a receiver's answer means (SPEC §4.4, the table is fixed). Pure: tested with a table.

export type Outcome =
  | { action: 'delivered' }
  /** try again later (timeout, 408, 429, 5xx) */
  | { action: 'retry', reason: string, retryAfterMs: number | null }
  /** switch the callback off at once (unreachable, 401, 403, 404, 410) */
  | { action: 'disable', reason: string }
  /** recorded as failed, not retried (3xx, other 4xx) */
  | { action: 'failed', reason: string }

export interface AttemptResult {
  status: number | null
  /** error code of a failed attempt: a Node/undici code, or one of ours */
  errorCode: string | null
  errorMessage: string | null
  retryAfterMs: number | null
}

/** Error codes that mean "nobody answers there" (SPEC: DNS failure, refused, reset, TLS). */
const UNREACHABLE = new Set([
  'ENOTFOUND', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN',
  'UND_ERR_SOCKET', 'FORBIDDEN_TARGET', 'INVALID_URL'
])
const TIMEOUTS = new Set(['TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT', 'ABORT_ERR'])

export const isTlsError = (code: string): boolean =>
  code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || code.startsWith('CERT_') ||
  ['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'ERR_TLS_CERT_ALTNAME_INVALID', 'EPROTO'].includes(code)

export function decide (r: AttemptResult): Outcome {
  if (r.status !== null) {
    const s = r.status
    if (s >= 200 && s < 300) return { action: 'delivered' }
    if (s === 401 || s === 403 || s === 404 || s === 410) return { action: 'disable', reason: `the receiver answered ${s}` }
    if (s === 408 || s === 429 || s >= 500) return { action: 'retry', reason: `the receiver answered ${s}`, retryAfterMs: r.retryAfterMs }
    return { action: 'failed', reason: s >= 300 && s < 400 ? `the receiver answered ${s} (redirects are not followed)` : `the receiver answered ${s}` }
  }
  const code = r.errorCode ?? 'UNKNOWN'
  const detail = r.errorMessage ?? code
  if (TIMEOUTS.has(code)) return { action: 'retry', reason: `no answer in time (${detail})`, retryAfterMs: null }
  if (code === 'FORBIDDEN_TARGET') return { action: 'disable', reason: `the URL leads to an address that is not allowed (${detail})` }
  if (UNREACHABLE.has(code)) return { action: 'disable', reason: `the receiver is unreachable (${detail})` }
  if (isTlsError(code)) return { action: 'disable', reason: `TLS failed (${detail})` }
  // A temporary DNS failure (EAI_AGAIN) or anything unforeseen: ours to retry, not the
  // customer's fault to be switched off for.
  return { action: 'retry', reason: detail, retryAfterMs: null }
}
