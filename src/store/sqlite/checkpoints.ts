// Checkpoints off the event loop: SQLite's own (inside a commit, every 1,000 pages of the
// write-ahead log) are left only as a backstop, far later, and checkpointer.mjs runs them on
// a thread of its own once a batch has been synced, at most once per CHECKPOINT_EVERY_MS.
import { Worker } from 'node:worker_threads'
import type Database from 'better-sqlite3'
import type { Logger } from '../../log.ts'

/** The most often a checkpoint is asked for while writes go on. */
const CHECKPOINT_EVERY_MS = 200
/**
 * SQLite's own checkpoint, inside a commit, only past this many pages (40 MB of log): when
 * the thread's checkpoints fall behind (a write that never stops leaves them no moment at
 * which the whole log is copied), the log still cannot grow without end.
 */
export const BACKSTOP_PAGES = 10_000

export class Checkpoints {
  private readonly worker: Worker
  private busy = false
  private lastAt = 0
  private timer: NodeJS.Timeout | null = null
  private closed = false
  private readonly exited: Promise<void>
  private waiting: Array<() => void> = []
  /** checkpoints the thread has run */
  done = 0

  constructor (db: Database.Database, file: string, private readonly log: Logger) {
    db.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`)
    this.worker = new Worker(new URL('./checkpointer.mjs', import.meta.url), { workerData: { file } })
    // Not what keeps the process alive; the store closes it.
    this.worker.unref()
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()))
    this.worker.on('message', (m: { done: boolean, error?: string }) => {
      this.busy = false
      if (m.done) {
        this.done++
        for (const resolve of this.waiting.splice(0)) resolve()
      } else this.log.warn({ err: m.error }, 'checkpoint failed; the next write tries again')
    })
    this.worker.on('error', (err) => this.log.error({ err }, 'the checkpoint thread stopped; SQLite checkpoints in its commits from now on'))
  }

  /** A batch was written: a checkpoint soon (at once if none ran for CHECKPOINT_EVERY_MS). */
  wrote (): void {
    if (this.closed || this.timer !== null) return
    const wait = Math.max(0, this.lastAt + CHECKPOINT_EVERY_MS - Date.now())
    this.timer = setTimeout(() => this.run(), wait)
    this.timer.unref()
  }

  private run (): void {
    this.timer = null
    if (this.closed) return
    // One at a time: a checkpoint that is still copying is asked again by the next write.
    if (this.busy) { this.wrote(); return }
    this.busy = true
    this.lastAt = Date.now()
    this.worker.postMessage('run')
  }

  /** Resolves once the thread has run its next checkpoint (tests). */
  next (): Promise<void> {
    return new Promise((resolve) => this.waiting.push(resolve))
  }

  /** Before the store's connection closes (which checkpoints what is left, itself). */
  async close (): Promise<void> {
    this.closed = true
    if (this.timer !== null) clearTimeout(this.timer)
    // (held by its exit now: unref'd, it would let the process end while this waits)
    this.worker.ref()
    this.worker.postMessage('close')
    await this.exited
  }
}
