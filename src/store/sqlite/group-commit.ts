// Group commit: the writes queued during one event-loop tick share one transaction, so the
// fsync that makes them durable is paid once per batch instead of once per message
// (the way PostgreSQL's commit_delay and SQLite-backed queues batch their commits).
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

  constructor (private readonly db: Database.Database) {
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
    const results: Array<{ ok: boolean, value: unknown }> = []
    try {
      this.db.transaction(() => {
        for (const p of batch) {
          // Each write gets its own savepoint (a nested better-sqlite3 transaction): one that
          // fails is rolled back alone and the others still commit.
          try {
            results.push({ ok: true, value: this.savepoint(p.run) })
          } catch (err) {
            results.push({ ok: false, value: err })
          }
        }
      }).immediate()
      batch.forEach((p, i) => { const r = results[i]!; r.ok ? p.resolve(r.value) : p.reject(r.value) })
    } catch (err) {
      // The commit itself failed (disk full, I/O error): nothing of the batch was written.
      for (const p of batch) p.reject(err)
    }
    if (this.queue.length > 0) {
      setImmediate(() => this.flush())
    } else {
      this.scheduled = false
      for (const resolve of this.idle.splice(0)) resolve()
    }
  }
}
