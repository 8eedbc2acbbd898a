// Browser origins (SPEC §2 CORS, §3 WebSocket): a domain's `allowedOrigins`, or any origin
// while the list is empty. Pure: tested with a table.

/** At most this many origins per domain: each request compares against the list. */
export const MAX_ALLOWED_ORIGINS = 100

/**
 * May a browser page at `origin` use this domain? `host` is the Host the request reached
 * us by: a page served by mqchat itself (the admin panel) is same-origin, never refused.
 */
export function originAllowed (origin: string, allowed: readonly string[], host: string | undefined): boolean {
  if (allowed.length === 0) return true
  if (allowed.includes(origin)) return true
  if (host !== undefined) {
    try {
      if (new URL(origin).host === host.toLowerCase()) return true
    } catch {}
  }
  return false
}

/**
 * An origin as browsers send it: `scheme://host[:port]`, http or https, nothing else (no path,
 * no trailing slash). Answers the problem, or null when fine.
 */
export function originProblem (origin: string): string | null {
  let u: URL
  try {
    u = new URL(origin)
  } catch {
    return 'is not a URL'
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'must be http or https'
  if (u.origin !== origin) return `must be an origin only (scheme, host and port), such as ${u.origin}`
  return null
}
