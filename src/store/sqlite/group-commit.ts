// Group commit: the writes queued during one event-loop tick share one transaction, so the
// fsync that makes them durable is paid once per batch instead of once per message
// (the way PostgreSQL's commit_delay and SQLite-backed queues batch their commits). A write
// that fails fails alone: the batch is then written again with a savepoint per write.
import type Database from 'better-sqlite3'

interface Pending {
  run: () => unknown
  resolve: (v: any) => void
  reject: (e: unknown) => void
}

/** A batch is cut at this size so one huge burst does not hold the writer for long. */
const MAX_BATCH = 2000

export class GroupCommit {
  private queue: Pending[] = []
  private scheduled = false
  private idle: Array<() => void> = []
  /** Runs one write in its own savepoint (a nested better-sqlite3 transaction); built once. */
  private readonly savepoint: (run: () => unknown) => unknown

  /**
   * `beforeBatch` runs before each batch's transaction: what a write caches for its batch
   * (nothing else writes while a batch runs, it is synchronous) starts afresh there.
   */
  constructor (private readonly db: Database.Database, private readonly beforeBatch: () => void = () => {}) {
    this.savepoint = db.transaction((run: () => unknown) => run())
  }

  /** Queues `run` (synchronous SQL) for the next batch; settles once the batch is committed. */
  add<T> (run: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run, resolve, reject })
      if (!this.scheduled) {
        this.scheduled = true
        setImmediate(() => this.flush())
      }
    })
  }

  /** Settles when nothing is queued. */
  drain (): Promise<void> {
    if (!this.scheduled && this.queue.length === 0) return Promise.resolve()
    return new Promise((resolve) => this.idle.push(resolve))
  }

  private flush (): void {
    const batch = this.queue.splice(0, MAX_BATCH)
    this.beforeBatch()
    let results: Array<{ ok: boolean, value: unknown }>
    try {
      // Every write of the batch in one transaction, with nothing around each: a savepoint
      // per write would cost two statements per message. A write that answers a refusal
      // (a blocked recipient) returns it; only an unexpected failure throws.
      results = this.db.transaction(() => batch.map((p) => ({ ok: true, value: p.run() }))).immediate()
    } catch {
      // One write threw (or the commit failed) and the whole transaction was rolled back:
      // again, each write in its own savepoint (a nested better-sqlite3 transaction), so that
      // the one that fails is rolled back alone and the others still commit.
      this.beforeBatch()
      try {
        results = this.db.transaction(() => batch.map((p) => {
          try {
            return { ok: true, value: this.savepoint(p.run) }
          } catch (err) {
            return { ok: false, value: err }
          }
        })).immediate()
      } catch (err) {
        // The commit itself failed (disk full, I/O error): nothing of the batch was written.
        results = batch.map(() => ({ ok: false, value: err }))
      }
    }
    batch.forEach((p, i) => { const r = results[i]!; r.ok ? p.resolve(r.value) : p.reject(r.value) })
    if (this.queue.length > 0) {
      setImmediate(() => this.flush())
    } else {
      this.scheduled = false
      for (const resolve of this.idle.splice(0)) resolve()
    }
  }
}
