import assert from 'node:assert/strict'
import { test } from 'node:test'
import { randomUUID } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import Database from 'better-sqlite3'
import { createLogger } from '../src/log.ts'
import { SqliteStore } from '../src/store/sqlite/index.ts'
import { storeConformance } from './store-conformance/index.ts'

const log = createLogger('silent')
const dirs: string[] = []
process.on('exit', () => { for (const d of dirs) fs.rmSync(d, { recursive: true, force: true }) })

storeConformance('sqlite', {
  async open () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqchat-store-'))
    dirs.push(dir)
    const s = new SqliteStore(dir, randomUUID(), log)
    await s.open()
    return s
  },
  async reopen (old) {
    // a new process: a new node id
    const s = new SqliteStore(path.dirname((old as SqliteStore).file), randomUUID(), log)
    await s.open()
    return s
  },
  async deleteMessages (s, domainId) {
    const db = new Database((s as SqliteStore).file)
    try {
      db.prepare('DELETE FROM messages WHERE domain_id = ?').run(domainId)
    } finally {
      db.close()
    }
  }
})

test('sqlite: the write-ahead log is copied into the database by a thread of its own, not inside the commits', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqchat-store-'))
  dirs.push(dir)
  const s = new SqliteStore(dir, randomUUID(), log)
  await s.open()
  try {
    await s.createDomain({ id: 'ck', name: 'Checkpoints', apiKeyHash: 'h-ck', tokenSecret: 's', createdAt: Date.now() })
    const before = fs.statSync(s.file).size
    const checkpointed = s.checkpoints.next()
    // a few hundred pages of log: far under SQLite's own checkpoint (BACKSTOP_PAGES), so only the thread copies them
    await Promise.all(Array.from({ length: 300 }, (_, i) => s.appendMessage(
      { domainId: 'ck', fromUserid: 1 + (i % 30), toUserid: 100 + (i % 7), type: 0, message: `message ${i} `.padEnd(200, 'x'), p1: '', p2: '', p3: '', at: Date.now() },
      (r) => ({ webhookId: `msg_ck_${r.id}`, body: JSON.stringify({ id: r.id }) })
    )))
    let timer: NodeJS.Timeout | undefined
    await Promise.race([checkpointed, new Promise((_resolve, reject) => { timer = setTimeout(() => reject(new Error('no checkpoint within 10 s of the writes')), 10_000) })])
    clearTimeout(timer)
    assert.ok(fs.statSync(s.file).size > before, 'the database file holds the copied pages')
    const db = new Database(s.file, { readonly: true })
    try {
      assert.equal((db.prepare("SELECT count(*) AS n FROM messages WHERE domain_id = 'ck'").get() as { n: number }).n, 300)
    } finally {
      db.close()
    }
  } finally {
    await s.close()
  }
})
