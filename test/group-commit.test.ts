// The SQLite group commit (src/store/sqlite/group-commit.ts) on a real database file, with
// the log's sync held by the test: a write is answered only once the sync covering its
// commit has ended, syncs go one at a time in commit order, a failing write fails alone,
// and barrier() waits for exactly what was committed before it.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { test } from 'node:test'
import Database from 'better-sqlite3'
import { GroupCommit } from '../src/store/sqlite/group-commit.ts'

function open (t: { after: (fn: () => void) => void }): { db: Database.Database, gc: GroupCommit, syncs: Array<() => void> } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqchat-gc-'))
  const file = path.join(dir, 'db.sqlite')
  const db = new Database(file)
  db.pragma('journal_mode = WAL')
  db.exec('CREATE TABLE t (v TEXT NOT NULL UNIQUE)')
  const syncs: Array<() => void> = []
  const gc = new GroupCommit(db, `${file}-wal`, () => {}, (fd, done) => syncs.push(() => fs.fsync(fd, done)))
  t.after(() => { gc.close(); db.close(); fs.rmSync(dir, { recursive: true, force: true }) })
  return { db, gc, syncs }
}

const settled = async (p: Promise<unknown>): Promise<boolean> => {
  let done = false
  p.then(() => { done = true }, () => { done = true })
  await new Promise((resolve) => setImmediate(resolve))
  await new Promise((resolve) => setImmediate(resolve))
  return done
}
const nextSync = async (syncs: Array<() => void>): Promise<() => void> => {
  while (syncs.length === 0) await new Promise((resolve) => setImmediate(resolve))
  return syncs.shift()!
}

test('a write is answered once the sync after its commit ends; syncs go one at a time, in commit order', async (t) => {
  const { db, gc, syncs } = open(t)
  const insert = db.prepare('INSERT INTO t (v) VALUES (?)')
  const a = gc.add(() => insert.run('a').changes)
  const first = await nextSync(syncs)
  // committed (visible) but not yet on disk: not answered, and a barrier waits
  assert.equal((db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n, 1)
  assert.equal(await settled(a), false)
  const barrierA = gc.barrier()
  const b = gc.add(() => insert.run('b').changes)
  await new Promise((resolve) => setImmediate(resolve))
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(syncs.length, 0, 'the second batch waits for the sync in flight')
  assert.equal(await settled(b), false)
  first()
  assert.equal(await a, 1)
  await barrierA
  assert.equal(await settled(b), false, 'b was committed after the first sync began')
  const barrierB = gc.barrier()
  assert.equal(await settled(barrierB), false)
  ;(await nextSync(syncs))()
  assert.equal(await b, 1)
  await barrierB
  assert.equal(await settled(gc.barrier()), true, 'nothing unsynced: a barrier resolves at once')
  await gc.drain()
})

test('a write that fails fails alone and is not held for the sync; the rest of its batch commits', async (t) => {
  const { db, gc, syncs } = open(t)
  const insert = db.prepare('INSERT INTO t (v) VALUES (?)')
  const ok1 = gc.add(() => insert.run('x').changes)
  const dup = gc.add(() => insert.run('x').changes)
  const ok2 = gc.add(() => insert.run('y').changes)
  await assert.rejects(dup, /UNIQUE/)
  assert.equal(await settled(ok1), false)
  ;(await nextSync(syncs))()
  assert.deepEqual(await Promise.all([ok1, ok2]), [1, 1])
  assert.deepEqual(db.prepare('SELECT v FROM t ORDER BY v').all().map((r: any) => r.v), ['x', 'y'])
})

test('a sync that fails answers its writes with the error and frees the barrier', async (t) => {
  const { db } = open(t)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqchat-gc-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  const failing = new GroupCommit(db, path.join(dir, 'missing', 'db-wal'))
  const w = failing.add(() => db.prepare('INSERT INTO t (v) VALUES (?)').run('z').changes)
  await assert.rejects(w, /ENOENT/)
  await failing.barrier()
  await failing.drain()
})
