// The machine's PostgreSQL and Redis, which the tests and the benches share with whatever
// else runs here: where they are (MQCHAT_TEST_PG_URL and MQCHAT_TEST_REDIS_URL for other
// servers than the default ones: trust auth on 127.0.0.1:5432, user postgres; 127.0.0.1:6379),
// a database made and dropped, the keys under a prefix found and deleted. No bookkeeping
// and no node:test here, so the benches can import it: leftovers.ts records what a test
// run makes, and drops it however the run ends.
import { Redis } from 'ioredis'
import pg from 'pg'

export const PG_ADMIN_URL = process.env.MQCHAT_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
export const REDIS_URL = process.env.MQCHAT_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

/** A connection to the server's own database (for CREATE and DROP DATABASE, its statistics); the caller ends it. */
export async function pgAdmin (): Promise<pg.Client> {
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL })
  await admin.connect()
  return admin
}

/** `fn` on an admin connection of its own, ended after (also when connecting failed). */
export async function withPgAdmin<T> (fn: (admin: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL })
  try {
    await admin.connect()
    return await fn(admin)
  } finally {
    await admin.end().catch(() => {})
  }
}

/** `fn` on a Redis connection of its own that gives up at once rather than retry (a cleanup must not hang), closed after. */
export async function withRedis<T> (fn: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null })
  try {
    await redis.connect()
    return await fn(redis)
  } finally {
    redis.disconnect()
  }
}

export interface Database {
  name: string
  url: string
  /** Drops it, WITH (FORCE): a node that is still connected (a killed child's pool) does not keep it. */
  drop: () => Promise<void>
}

/** A new empty database called `name` (the caller's own naming: the tests' carry their pid, leftovers.ts). */
export async function createDatabase (name: string): Promise<Database> {
  await withPgAdmin((admin) => admin.query(`CREATE DATABASE ${name}`))
  const url = new URL(PG_ADMIN_URL)
  url.pathname = `/${name}`
  return { name, url: url.toString(), drop: () => withPgAdmin((admin) => dropDatabase(admin, name)) }
}

/** DROP DATABASE IF EXISTS; `force: false` fails on a database someone is still connected to. */
export async function dropDatabase (admin: pg.Client, name: string, opts: { force?: boolean } = {}): Promise<void> {
  await admin.query(`DROP DATABASE IF EXISTS ${name}${opts.force === false ? '' : ' WITH (FORCE)'}`)
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

/** Deletes every key under a prefix. */
export async function deleteKeys (redis: Redis, prefix: string): Promise<void> {
  const keys = await redisKeys(redis, prefix)
  if (keys.length > 0) await redis.unlink(...keys)
}
