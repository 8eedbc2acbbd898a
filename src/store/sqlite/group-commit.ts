// Group commit: the writes queued during one event-loop tick share one transaction, so the
// fsync that makes them durable is paid once per batch instead of once per message
// (the way PostgreSQL's commit_delay and SQLite-backed queues batch their commits). A write
// that fails fails alone: the batch is then written again with a savepoint per write.
//
// The fsync is not paid on the event loop. A batch commits with synchronous = NORMAL (in
// WAL mode the commit writes its frames to the write-ahead log and does not sync it), then
// the log file is synced on libuv's thread pool, and only then are the batch's writes
// answered: what is answered is on disk, as with synchronous = FULL, which is exactly "sync
// the log at each commit". Meanwhile the loop goes on parsing, delivering and queueing the
// next batch, instead of standing still for the disk (measured here: 4 ms a sync, a quarter
// of the chat load's time). One sync at a time, and no commit while it runs: what is queued
// meanwhile is the next batch, committed and synced once it ends. A process killed between commit and sync loses
// nothing (the frames are in the kernel's cache); a power cut loses only unanswered writes.
// A commit is visible to the next read before its sync ends: whatever reads rows to act on
// them outside (a claim that sends a callback, a REST read) first waits for barrier().
import fs from 'node:fs'
import type Database from 'better-sqlite3'

interface Pending {
  run: () => unknown
  resolve: (v: any) => void
  reject: (e: unknown) => void
}

interface Settled { p: Pending, ok: boolean, value: unknown }

/** A batch is cut at this size so one huge burst does not hold the writer for long. */
const MAX_BATCH = 2000

export class GroupCommit {
  private queue: Pending[] = []
  private scheduled = false
  private idle: Array<() => void> = []
  /** Runs one write in its own savepoint (a nested better-sqlite3 transaction); built once. */
  private readonly savepoint: (run: () => unknown) => unknown
  /** committed, waiting for the log to be synced */
  private unsynced: Settled[] = []
  private syncing = false
  private walFd: number | null = null
  /** batches committed so far, and how many of them a finished sync covers */
  private committedSeq = 0
  private syncedSeq = 0
  private barriers: Array<{ upTo: number, resolve: () => void }> = []

  /**
   * `walFile` is the database's write-ahead log (`<file>-wal`). `beforeBatch` runs before
   * each batch's transaction: what a write caches for its batch (nothing else writes while a
   * batch runs, it is synchronous) starts afresh there.
   */
  constructor (
    private readonly db: Database.Database,
    private readonly walFile: string,
    private readonly beforeBatch: () => void = () => {},
    /** fs.fsync; a test gives its own to hold a sync */
    private readonly fsync: (fd: number, done: (err: Error | null) => void) => void = fs.fsync
  ) {
    this.savepoint = db.transaction((run: () => unknown) => run())
  }

  /** Queues `run` (synchronous SQL) for the next batch; settles once the batch is committed and on disk. */
  add<T> (run: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run, resolve, reject })
      this.schedule()
    })
  }

  /** Settles when nothing is queued, committing or being synced. */
  drain (): Promise<void> {
    if (this.isIdle()) return Promise.resolve()
    return new Promise((resolve) => this.idle.push(resolve))
  }

  /**
   * Resolves once everything committed so far is on disk: at once when it is. What reads
   * committed rows to act on them outside (the dispatcher's claims, the REST reads) waits for
   * this, so that nothing is called back or shown that a power cut could still take away.
   */
  barrier (): Promise<void> {
    if (this.syncedSeq >= this.committedSeq) return Promise.resolve()
    return new Promise((resolve) => this.barriers.push({ upTo: this.committedSeq, resolve }))
  }

  /** After drain: closes the log's file descriptor. */
  close (): void {
    if (this.walFd !== null) fs.closeSync(this.walFd)
    this.walFd = null
  }

  /**
   * The next batch is written in the next tick, or once the sync in flight ends: the writes
   * that come meanwhile wait for it and go together, one commit (and one sync) for all of
   * them, instead of a small commit per tick whose pages the log would carry each time.
   */
  private schedule (): void {
    if (this.scheduled || this.syncing || this.queue.length === 0) return
    this.scheduled = true
    setImmediate(() => this.flush())
  }

  private isIdle (): boolean {
    return !this.scheduled && this.queue.length === 0 && !this.syncing && this.unsynced.length === 0
  }

  private flush (): void {
    const batch = this.queue.splice(0, MAX_BATCH)
    this.db.pragma('synchronous = NORMAL')
    let results: Settled[]
    try {
      results = this.write(batch)
    } finally {
      // Every other write of the store (domains, callbacks' settings) syncs its own commit.
      this.db.pragma('synchronous = FULL')
    }
    if (results.some((r) => r.ok)) this.committedSeq++
    // A write that failed wrote nothing: its answer need not wait for the disk.
    for (const r of results) {
      if (r.ok) this.unsynced.push(r)
      else r.p.reject(r.value)
    }
    this.scheduled = false
    this.sync()
    this.schedule()
    this.settleIdle()
  }

  private write (batch: Pending[]): Settled[] {
    this.beforeBatch()
    try {
      // Every write of the batch in one transaction, with nothing around each: a savepoint
      // per write would cost two statements per message. A write that answers a refusal
      // (a blocked recipient) returns it; only an unexpected failure throws.
      return this.db.transaction(() => batch.map((p) => ({ p, ok: true, value: p.run() }))).immediate()
    } catch {
      // One write threw (or the commit failed) and the whole transaction was rolled back:
      // again, each write in its own savepoint (a nested better-sqlite3 transaction), so that
      // the one that fails is rolled back alone and the others still commit.
      this.beforeBatch()
      try {
        return this.db.transaction(() => batch.map((p) => {
          try {
            return { p, ok: true, value: this.savepoint(p.run) }
          } catch (err) {
            return { p, ok: false, value: err }
          }
        })).immediate()
      } catch (err) {
        // The commit itself failed (disk full, I/O error): nothing of the batch was written.
        return batch.map((p) => ({ p, ok: false, value: err }))
      }
    }
  }

  /** Syncs the log for every batch committed so far, then answers their writes; one sync at a time. */
  private sync (): void {
    if (this.syncing || this.unsynced.length === 0) return
    const group = this.unsynced
    const upTo = this.committedSeq
    this.unsynced = []
    this.syncing = true
    let fd: number
    try {
      // The log exists from the first commit in WAL mode and keeps its inode while the
      // database is open (a checkpoint rewrites it from the start, never replaces it).
      this.walFd ??= fs.openSync(this.walFile, 'r+')
      fd = this.walFd
    } catch (err) {
      this.synced(group, upTo, err as Error)
      return
    }
    this.fsync(fd, (err) => this.synced(group, upTo, err))
  }

  private synced (group: Settled[], upTo: number, err: Error | null): void {
    this.syncing = false
    // (after a failed sync too: the readers waiting are not held for ever by a failing disk)
    this.syncedSeq = upTo
    const waiting = this.barriers
    this.barriers = waiting.filter((b) => b.upTo > upTo)
    for (const b of waiting) if (b.upTo <= upTo) b.resolve()
    // A log that cannot be synced is a disk that is failing: what it holds is not answered
    // as stored (the writes may or may not survive a power cut).
    for (const r of group) err === null ? r.p.resolve(r.value) : r.p.reject(err)
    this.sync()
    this.schedule()
    this.settleIdle()
  }

  private settleIdle (): void {
    if (this.isIdle()) for (const resolve of this.idle.splice(0)) resolve()
  }
}
