// Everything a test run creates outside its own process (a PostgreSQL database, a Redis key
// prefix) is recorded here and dropped when the run ends, however it ends:
// - the tests finish, pass or fail: a hook on the file's root test, registered once when this
//   module loads (not inside a test: a hook registered inside a test runs when that test ends);
// - the process exits (process.exit, an uncaught error) or gets SIGINT/SIGTERM/SIGHUP: a child
//   that drops them synchronously, since an exiting process can wait on no promise;
// - the process is killed (SIGKILL, OOM): the next run's first database or prefix starts
//   dropping those of runs whose process is gone (their pid is in the name).
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { after } from 'node:test'
import { DATABASE_NAME, PREFIX_NAME, dropLeftovers, type Leftovers } from './drop-leftovers.ts'
import { PG_ADMIN_URL, REDIS_URL, redisKeys, withPgAdmin, withRedis } from './pg-redis.ts'

const ROOT = path.resolve(import.meta.dirname, '../..')
const SIGNALS = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const

const live: Leftovers = { databases: [], prefixes: [] }
let armed = false
let swept: Promise<void> | undefined

after(dropAll)

async function dropAll (): Promise<void> {
  const taken = { databases: live.databases.splice(0), prefixes: live.prefixes.splice(0) }
  // the sweep of dead runs, started in the background by the first database, ends with the run
  await Promise.all([dropLeftovers(taken), swept])
}

/** Records a database or prefix that this run created (call it before anything can fail). */
export function recordLeftover (kind: 'database' | 'prefix', name: string): void {
  (kind === 'database' ? live.databases : live.prefixes).push(name)
  if (armed) return
  armed = true
  process.once('exit', () => {
    if (live.databases.length + live.prefixes.length === 0) return
    spawnSync(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'drop-leftovers.ts'), JSON.stringify(live)], {
      cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'], timeout: 30_000
    })
  })
  for (const [signal, n] of Object.entries(SIGNALS)) {
    // only when nobody else handles it: then the default (dying) is what would have happened
    if (process.listenerCount(signal) === 0) process.once(signal, () => process.exit(128 + n))
  }
}

/**
 * Drops the databases and prefixes of earlier runs whose process is gone; once per process,
 * in the background (a server with many leftovers would hold up the first test), finished
 * before the run ends.
 */
export function sweepDeadRuns (): Promise<void> {
  swept ??= sweep().catch((err: Error) => { process.stderr.write(`dead test runs not swept: ${err.message}\n`) })
  return swept
}

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

async function sweep (): Promise<void> {
  // Only a server on this machine: a pid means nothing on another's.
  const local = (url: string): boolean => ['127.0.0.1', 'localhost', '[::1]', ''].includes(new URL(url).hostname)
  const dead: Leftovers = { databases: [], prefixes: [] }
  if (local(PG_ADMIN_URL)) {
    const { rows } = await withPgAdmin((admin) => admin.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 'mqchat\\_test\\_%'"))
    dead.databases = rows.map((r) => r.datname).filter((n) => { const m = DATABASE_NAME.exec(n); return m !== null && !alive(Number(m[1])) })
  }
  if (local(REDIS_URL)) {
    const keys = await withRedis((redis) => redisKeys(redis, 'mqchat-test-'))
    const prefixes = new Set(keys.map((k) => /^mqchat-test-\d+-[a-z0-9]+-\d+:/.exec(k)?.[0]).filter((p) => p !== undefined))
    dead.prefixes = [...prefixes].filter((p) => PREFIX_NAME.test(p) && !alive(Number(/^mqchat-test-(\d+)-/.exec(p)![1])))
  }
  // Not FORCE: a database someone is still connected to is not a dead run's.
  if (dead.databases.length + dead.prefixes.length > 0) await dropLeftovers(dead, { force: false }).catch(() => {})
}
