// The SQLite store's checkpoints, on a thread of their own (checkpoints.ts starts it). A
// checkpoint copies the write-ahead log's pages back into the database file and syncs it;
// run by SQLite itself inside a commit (every 1,000 pages), it held the event loop for the
// copy and the sync (measured: 7–8 % of the group commit's time). Here a connection of its
// own runs them PASSIVE: it copies what is committed, never waits for the writer, and the
// writer goes on meanwhile. Plain JavaScript: a worker thread would otherwise need a
// TypeScript loader of its own, a third of a second at every start.
import { parentPort, workerData } from 'node:worker_threads'
import Database from 'better-sqlite3'

const db = new Database(workerData.file)
db.pragma('busy_timeout = 5000')
// A checkpoint syncs the database file once it has copied the pages (WAL, NORMAL).
db.pragma('synchronous = NORMAL')

parentPort.on('message', (m) => {
  if (m === 'close') {
    db.close()
    parentPort.close()
    return
  }
  try {
    const [r] = db.pragma('wal_checkpoint(PASSIVE)')
    parentPort.postMessage({ done: true, log: r.log, copied: r.checkpointed })
  } catch (err) {
    parentPort.postMessage({ done: false, error: err.message })
  }
})
