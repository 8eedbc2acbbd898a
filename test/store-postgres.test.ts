import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { createLogger } from '../src/log.ts'
import { PostgresStore } from '../src/store/postgres/index.ts'
import { freshDatabase } from './helpers/postgres.ts'
import { storeConformance } from './store-conformance/index.ts'

const log = createLogger('silent')
const urls = new WeakMap<object, string>()

storeConformance('postgres', {
  async open () {
    const url = await freshDatabase()
    const s = new PostgresStore(url, 4, randomUUID(), log)
    await s.open()
    urls.set(s, url)
    return s
  },
  async reopen (old) {
    const s = new PostgresStore(urls.get(old)!, 4, randomUUID(), log)
    await s.open()
    urls.set(s, urls.get(old)!)
    return s
  },
  async another (s) {
    const other = new PostgresStore(urls.get(s)!, 4, randomUUID(), log)
    await other.open()
    urls.set(other, urls.get(s)!)
    return other
  },
  async deleteMessages (s, domainId) {
    const c = new pg.Client({ connectionString: urls.get(s)! })
    await c.connect()
    try {
      await c.query('DELETE FROM messages WHERE domain_id = $1', [domainId])
    } finally {
      await c.end()
    }
  }
})
