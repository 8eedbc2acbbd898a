// The store's own life: its node, its clock, opening, closing, and jobs run by one node at a time.

export interface StoreLifecycle {
  /** This process's node id: it holds the outbox leases it takes and writes presence. */
  readonly nodeId: string
  /** Applies pending migrations (once, whichever node starts first) and registers the node. */
  open(): Promise<void>
  /**
   * The database's clock, in unix ms, as this node best knows it: leases and back-off due
   * times are compared with it, so nodes whose clocks drift still agree (River and
   * graphile-worker use the database's clock for the same reason).
   */
  now(): number
  /** Throws when the database cannot answer. */
  ping(): Promise<void>
  /**
   * Runs a periodic job (retention, …) if no other node sharing the database is running the
   * same one now; answers null when another is. The embedded store has one node: it runs.
   */
  exclusively<T>(job: string, fn: () => Promise<T>): Promise<T | null>
  /** Writes what is queued, then closes. */
  close(): Promise<void>
}
