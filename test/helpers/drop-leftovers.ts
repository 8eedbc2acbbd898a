// Drops what a test run made outside its own process: PostgreSQL databases and the keys under
// Redis key prefixes. Imported by leftovers.ts; also run as a script (`node --import tsx
// drop-leftovers.ts '<json>'`) by a process on its way out, which can no longer wait on a
// promise itself.
import { pathToFileURL } from 'node:url'
import { deleteKeys, dropDatabase, withPgAdmin, withRedis } from './pg-redis.ts'

/** Names a test run gives what it creates: they carry its pid, so a later run can tell a dead run's. */
export const DATABASE_NAME = /^mqchat_test_(\d+)_[a-z0-9]+_\d+$/
export const PREFIX_NAME = /^mqchat-test-(\d+)-[a-z0-9]+-\d+:$/

export interface Leftovers { databases: string[], prefixes: string[] }

/** Drops them all; answers the first error after trying every one. */
export async function dropLeftovers ({ databases, prefixes }: Leftovers, opts: { force?: boolean } = {}): Promise<void> {
  const errors: unknown[] = []
  if (databases.length > 0) {
    await withPgAdmin(async (admin) => {
      for (const name of databases) {
        if (!DATABASE_NAME.test(name)) throw new Error(`not a test database: ${name}`)
        // FORCE: a node of the run that is still connected (a killed child's pool) must not keep it
        await dropDatabase(admin, name, opts).catch((err) => errors.push(err))
      }
    }).catch((err) => errors.push(err))
  }
  if (prefixes.length > 0) {
    await withRedis(async (redis) => {
      for (const prefix of prefixes) {
        if (!PREFIX_NAME.test(prefix)) throw new Error(`not a test key prefix: ${prefix}`)
        await deleteKeys(redis, prefix)
      }
    }).catch((err) => errors.push(err))
  }
  if (errors.length > 0) throw errors[0]
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  dropLeftovers(JSON.parse(process.argv[2] ?? '{"databases":[],"prefixes":[]}')).catch((err) => {
    process.stderr.write(`test leftovers not dropped: ${(err as Error).message}\n`)
    process.exitCode = 1
  })
}
