// A Redis key prefix of a test run's own on the machine's Redis (MQCHAT_TEST_REDIS_URL for
// another), its keys dropped when the run ends however it ends (leftovers.ts).
import { recordLeftover, sweepDeadRuns } from './leftovers.ts'
import { REDIS_URL } from './pg-redis.ts'

export { REDIS_URL }

let seq = 0

/** A new key prefix, for MQCHAT_REDIS_PREFIX. */
export async function freshRedisPrefix (): Promise<string> {
  void sweepDeadRuns()
  const prefix = `mqchat-test-${process.pid}-${Date.now().toString(36)}-${++seq}:`
  recordLeftover('prefix', prefix)
  return prefix
}
