// Sizes of the outbox's long operations, one rule for both stores.

/** Events a replay or a switch-off changes in one transaction: each batch is short (a few ms),
 *  so neither the database nor SQLite's event loop is held for long by a huge backlog. */
export const REPLAY_BATCH = 5000
/** How long a replay's pause of claims lasts without being renewed: a replay whose node dies
 *  mid-way lets its callback go on after this. */
export const REPLAY_PAUSE_MS = 30_000
