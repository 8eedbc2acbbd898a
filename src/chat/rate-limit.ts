// Per-user send limit (MQCHAT_USER_RATE): a token bucket per key. Memory is bounded by the
// users active in the last minute: a bucket that has refilled is the same as no bucket.

/** A token from a bucket all nodes share: true taken, false empty, null unreachable. */
export type SharedTake = (key: string, perSecond: number, burst: number) => Promise<boolean | null>

export class RateLimiter {
  private buckets = new Map<string, { tokens: number, at: number }>()

  constructor (
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now
  ) {}

  /** Takes one token for `key`; false when the bucket is empty. */
  take (key: string): boolean {
    const t = this.now()
    const b = this.buckets.get(key)
    if (b === undefined) {
      this.buckets.set(key, { tokens: this.burst - 1, at: t })
      return true
    }
    b.tokens = Math.min(this.burst, b.tokens + ((t - b.at) / 1000) * this.perSecond)
    b.at = t
    if (b.tokens < 1) return false
    b.tokens -= 1
    return true
  }

  /** Forgets buckets that are full again. */
  prune (): void {
    const t = this.now()
    for (const [key, b] of this.buckets) {
      if (b.tokens + ((t - b.at) / 1000) * this.perSecond >= this.burst) this.buckets.delete(key)
    }
  }

  get size (): number {
    return this.buckets.size
  }
}
