// What the benches read from outside the processes they measure, and how they print it: a
// process's memory and CPU time (/proc), PostgreSQL's statistics and its backends' CPU, Redis's
// counters (INFO), and number formatting.
import fs from 'node:fs'
import type { Redis } from 'ioredis'
import type pg from 'pg'
import { pgAdmin } from '../test/helpers/pg-redis.ts'

/** Resident memory of a process, in kB (Linux: VmRSS of /proc/<pid>/status). */
export function rssKb (pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))
  if (m === null) throw new Error(`no VmRSS for pid ${pid}`)
  return Number(m[1])
}

/** CPU time a process has used (user + system), in ms; null when it cannot be read. */
export function cpuMs (pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLOCK_TICKS_PER_S
  } catch {
    return null
  }
}
/** USER_HZ: 100 on every Linux architecture Node runs on. */
const CLOCK_TICKS_PER_S = 100

/** Counters of the whole Redis server, read from outside (INFO): calls per command, and its CPU time. */
export interface RedisCounters {
  calls: Record<string, number>
  cpuMs: number
}

export async function redisCounters (redis: Redis): Promise<RedisCounters> {
  const [stats, cpu] = await Promise.all([redis.info('commandstats'), redis.info('cpu')])
  const calls: Record<string, number> = {}
  for (const m of stats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[m[1]!] = Number(m[2])
  const sec = (field: string): number => Number(new RegExp(`^${field}:([\\d.]+)`, 'm').exec(cpu)?.[1] ?? NaN)
  return { calls, cpuMs: (sec('used_cpu_user') + sec('used_cpu_sys')) * 1000 }
}

/** Transactions committed and rolled back in one database, as PostgreSQL's statistics have them so far. */
export async function pgTransactions (admin: pg.Client, db: string): Promise<{ commits: number, rollbacks: number }> {
  const r = await admin.query('SELECT xact_commit, xact_rollback FROM pg_stat_database WHERE datname = $1', [db])
  return { commits: Number(r.rows[0]?.xact_commit ?? NaN), rollbacks: Number(r.rows[0]?.xact_rollback ?? NaN) }
}

/** CPU time so far (ms) of each PostgreSQL backend serving database `db`, by pid. */
export async function pgBackendsCpuMs (admin: pg.Client, db: string): Promise<Map<number, number>> {
  const r = await admin.query('SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [db])
  const out = new Map<number, number>()
  for (const { pid } of r.rows) {
    const ms = cpuMs(pid)
    if (ms !== null) out.set(pid, ms)
  }
  return out
}

/** An admin connection to the machine's PostgreSQL, for reading its statistics. */
export { pgAdmin }

/** CPU the backends used between two readings; a backend born in between counts from zero. */
export function backendsCpuMs (before: Map<number, number>, after: Map<number, number>): number {
  let ms = 0
  for (const [pid, t] of after) ms += t - (before.get(pid) ?? 0)
  return ms
}

// --- output ------------------------------------------------------------------------------

export const int = (n: number): string => Math.round(n).toLocaleString('en-US')
export const fixed = (n: number, digits = 2): string => n.toFixed(digits)
