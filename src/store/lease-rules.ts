// The lease rule the two leased queues share (SPEC §4.4, §10.1; STYLE "Storage"): the outbox's
// queues, claimed by the dispatcher, and the push jobs, claimed by the push worker. A worker
// leases what it claims (locked_by, locked_until) and only the holder may finish it; the
// lease lasts long enough that only a crashed holder loses it. Pure.

/** A lease outlives the attempt's time limit by this much, so that only a crashed holder loses it. */
export const LEASE_MARGIN_MS = 60_000

/** Until when a claim made at `nowMs` holds, for an attempt allowed `attemptTimeoutMs`. */
export function leaseUntil (nowMs: number, attemptTimeoutMs: number): number {
  return nowMs + attemptTimeoutMs + LEASE_MARGIN_MS
}

/**
 * SQL (the same in SQLite and PostgreSQL): a push job may be claimed at `now` (a placeholder,
 * used twice) when it is due (`next_at <= now`) and holds no lease, or one that ended before
 * now: a lease ending at `now` itself still holds. The outbox's queues follow the same rule on
 * `ready_at` (their claim is SQL of its own: src/store/sqlite/outbox.ts, migrations 015).
 */
export function pushClaimableSql (now: string): string {
  return `next_at <= ${now} AND (locked_until IS NULL OR locked_until < ${now})`
}
