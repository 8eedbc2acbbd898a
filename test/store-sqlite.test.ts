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
