// Drops what a test run made outside its own process: PostgreSQL databases and the keys under
// Redis key prefixes. Imported by leftovers.ts; also run as a script (`node --import tsx
// drop-leftovers.ts '<json>'`) by a process on its way out, which can no longer wait on a
// promise itself.
import { pathToFileURL } from 'node:url'
import { Redis } from 'ioredis'
import pg from 'pg'

export const PG_ADMIN_URL = process.env.MQCHAT_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
export const REDIS_URL = process.env.MQCHAT_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

/** Names a test run gives what it creates: they carry its pid, so a later run can tell a dead run's. */
export const DATABASE_NAME = /^mqchat_test_(\d+)_[a-z0-9]+_\d+$/
export const PREFIX_NAME = /^mqchat-test-(\d+)-[a-z0-9]+-\d+:$/

export interface Leftovers { databases: string[], prefixes: string[] }

/** Drops them all; answers the first error after trying every one. */
export async function dropLeftovers ({ databases, prefixes }: Leftovers, opts: { force?: boolean } = {}): Promise<void> {
  const errors: unknown[] = []
  if (databases.length > 0) {
    const admin = new pg.Client({ connectionString: PG_ADMIN_URL })
    try {
      await admin.connect()
      for (const name of databases) {
        if (!DATABASE_NAME.test(name)) throw new Error(`not a test database: ${name}`)
        // FORCE: a node of the run that is still connected (a killed child's pool) must not keep it
        await admin.query(`DROP DATABASE IF EXISTS ${name}${opts.force === false ? '' : ' WITH (FORCE)'}`).catch((err) => errors.push(err))
      }
    } catch (err) {
      errors.push(err)
    } finally {
      await admin.end().catch(() => {})
    }
  }
  if (prefixes.length > 0) {
    const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null })
    try {
      await redis.connect()
      for (const prefix of prefixes) {
        if (!PREFIX_NAME.test(prefix)) throw new Error(`not a test key prefix: ${prefix}`)
        const keys = await redisKeys(redis, prefix)
        if (keys.length > 0) await redis.unlink(...keys)
      }
    } catch (err) {
      errors.push(err)
    } finally {
      redis.disconnect()
    }
  }
  if (errors.length > 0) throw errors[0]
}

/** Every key under a prefix (SCAN, not KEYS: the server is shared). */
export async function redisKeys (redis: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = []
  let cursor = '0'
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`, 'COUNT', 1000)
    cursor = next
    keys.push(...batch)
  } while (cursor !== '0')
  return keys
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  dropLeftovers(JSON.parse(process.argv[2] ?? '{"databases":[],"prefixes":[]}')).catch((err) => {
    process.stderr.write(`test leftovers not dropped: ${(err as Error).message}\n`)
    process.exitCode = 1
  })
}
