// When to try again (SPEC §4.4): about 5 s, 30 s, 2 min, 10 min, 30 min, ±20 % jitter, so
// that receivers coming back up are not hit by every sender at the same instant. Pure.

export { DEFAULT_RETRY_DELAYS_MS, parseDelays } from '../durations.ts'
export const JITTER = 0.2

/**
 * The wait after failed attempt number `attempt` (1 = the first try), or null when that was
 * the last retry. `retryAfterMs` (from a 429/503 Retry-After) is honoured up to the longest
 * step, so a receiver cannot park an event forever (`Retry-After: 99999999`).
 */
export function retryDelay (attempt: number, delaysMs: readonly number[], retryAfterMs: number | null = null, random: () => number = Math.random): number | null {
  if (attempt < 1 || attempt > delaysMs.length) return null
  const base = delaysMs[attempt - 1]!
  const jittered = Math.round(base * (1 - JITTER + 2 * JITTER * random()))
  if (retryAfterMs === null) return jittered
  return Math.min(Math.max(jittered, retryAfterMs), Math.max(...delaysMs))
}

/**
 * RFC 9110 §5.6.7: every HTTP-date form (IMF-fixdate, RFC 850, asctime) starts with the day's
 * name. Date.parse alone would read "-1" or "1.5" as dates in 2001.
 */
const HTTP_DATE_START = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,? /

/** `Retry-After` as seconds or as an HTTP date; null when absent or unreadable. */
export function parseRetryAfter (value: string | undefined, nowMs: number): number | null {
  if (value === undefined || value.trim() === '') return null
  const v = value.trim()
  if (/^\d+$/.test(v)) return Math.min(Number(v), 10 ** 9) * 1000
  if (!HTTP_DATE_START.test(v)) return null
  const date = Date.parse(v)
  return Number.isNaN(date) ? null : Math.max(0, date - nowMs)
}
