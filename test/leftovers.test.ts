// The test kit drops every database and Redis key prefix a run made, however the run ends:
// counted in PostgreSQL and Redis after a child run of a test file, not trusted.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { test } from 'node:test'
import { Redis } from 'ioredis'
import pg from 'pg'
import { spawnNode } from './helpers/child.ts'
import { PG_ADMIN_URL, REDIS_URL, redisKeys } from './helpers/pg-redis.ts'
import { waitFor } from './helpers/wait.ts'

const RUN = path.join(import.meta.dirname, 'fixtures/kit/leftovers-run.ts')

async function count (): Promise<{ databases: Set<string>, keys: Set<string> }> {
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL })
  await admin.connect()
  const redis = new Redis(REDIS_URL)
  try {
    const { rows } = await admin.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 'mqchat\\_test\\_%'")
    return { databases: new Set(rows.map((r) => r.datname)), keys: new Set(await redisKeys(redis, 'mqchat-test-')) }
  } finally {
    await admin.end()
    redis.disconnect()
  }
}

interface Made { pid: number, database: string, prefix: string }

/** Runs the fixture as `node --test` runs a file; answers how it ended and what it made. */
async function runFile (t: { after: (fn: () => void) => void }, end: string, kill?: NodeJS.Signals): Promise<{ exit: number | string, made: Made[] }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqchat-leftovers-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  const log = path.join(dir, 'made.jsonl')
  fs.writeFileSync(log, '')
  const lines = (): any[] => fs.readFileSync(log, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l))
  // the file itself, not `--test` (whose runner would put it in a grandchild we could not signal)
  const child = spawnNode(RUN, { env: { ...process.env, LEFTOVERS_LOG: log, LEFTOVERS_END: end } })
  if (kill !== undefined) {
    await waitFor(() => lines().some((l) => l.waiting === true), 'the run to wait in its third test', 60_000)
    child.proc.kill(kill)
  }
  const exit = await child.exited
  return { exit, made: lines().filter((l) => l.database !== undefined) }
}

async function assertNoneLeft (made: Made[]): Promise<void> {
  assert.equal(made.length, 3, 'the run made a database and a prefix in each of its three tests')
  const after = await count()
  assert.deepEqual(made.filter((m) => after.databases.has(m.database)).map((m) => m.database), [], 'databases left behind')
  assert.deepEqual([...after.databases].filter((d) => d.startsWith(`mqchat_test_${made[0]!.pid}_`)), [], 'databases of the run left behind')
  assert.deepEqual([...after.keys].filter((k) => made.some((m) => k.startsWith(m.prefix))), [], 'Redis keys left behind')
}

for (const [end, kill, exit] of [['tests', undefined, 1], ['exit', undefined, 3], ['sigterm', 'SIGTERM', 143]] as const) {
  test(`a run that ends by ${end === 'tests' ? 'finishing, with a failed test,' : end === 'exit' ? 'process.exit in a test' : 'SIGTERM'} leaves no database or Redis key behind`, async (t) => {
    const before = await count()
    const { exit: code, made } = await runFile(t, end, kill)
    assert.equal(code, exit, 'how the run ended')
    for (const m of made) assert.ok(!before.databases.has(m.database), 'a new database')
    await assertNoneLeft(made)
  })
}

test('what a killed run (SIGKILL) left behind is dropped by the next run', async (t) => {
  const killed = await runFile(t, 'sigkill', 'SIGKILL')
  assert.equal(killed.exit, 'SIGKILL')
  // A killed run cannot clean up itself; the first database of the next run (here a run of
  // the same file; under npm test, maybe another file's) drops what it left.
  const next = await runFile(t, 'tests')
  await assertNoneLeft(killed.made)
  await assertNoneLeft(next.made)
})
