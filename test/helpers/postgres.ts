// Fresh PostgreSQL databases for a test run, on the machine's server (SPEC: tests use the real
// PostgreSQL, never a mock), dropped when the run ends however it ends (leftovers.ts).
// MQCHAT_TEST_PG_URL points at a server other than the default one (trust auth on
// 127.0.0.1:5432, user postgres).
import { recordLeftover, sweepDeadRuns } from './leftovers.ts'
import { PG_ADMIN_URL, createDatabase } from './pg-redis.ts'

export { PG_ADMIN_URL }

let seq = 0

/** A new empty database; answers its URL. */
export async function freshDatabase (): Promise<string> {
  void sweepDeadRuns()
  const name = `mqchat_test_${process.pid}_${Date.now().toString(36)}_${++seq}`
  // recorded first: a CREATE whose answer is lost may still have made it
  recordLeftover('database', name)
  return (await createDatabase(name)).url
}
