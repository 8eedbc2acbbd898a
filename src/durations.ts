// Durations as settings write them (`5s`, `2m`): parsed once, here, for config.ts and for
// whoever else reads such a list. Pure.

/** SPEC §4.4: about 5 s, 30 s, 2 min, 10 min, 30 min (MQCHAT_CALLBACK_RETRY_DELAYS's default). */
export const DEFAULT_RETRY_DELAYS_MS = [5_000, 30_000, 120_000, 600_000, 1_800_000]

/** Parses `5s,30s,2m,10m,30m` (MQCHAT_CALLBACK_RETRY_DELAYS). */
export function parseDelays (text: string): number[] | string {
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }
  const out: number[] = []
  for (const part of text.split(',')) {
    const m = /^\s*(\d+)\s*(ms|s|m|h)\s*$/.exec(part)
    if (m === null) return 'must be a list of durations like 5s,30s,2m,10m,30m'
    out.push(Number(m[1]) * unit[m[2]!]!)
  }
  if (out.length > 20) return 'must have at most 20 steps'
  return out
}
