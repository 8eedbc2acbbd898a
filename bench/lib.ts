// What the benches share: child processes that are always killed, the mqchat child and its
// API, raw MQTT connections for idle-memory counts, and number formatting. The pieces the
// tests use too (a Node child, the REST client, a hand-built CONNECT) come from the one
// test kit in test/helpers/.
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { ROOT, spawnNode as spawnChild, STOP_GRACE_MS, type NodeChild } from '../test/helpers/child.ts'
import { connectAccepted } from '../test/helpers/mqtt.ts'
import { expectStatus, restClient } from '../test/helpers/rest.ts'
import pg from 'pg'

export { ROOT }
export const HOST = '127.0.0.1'

/** Longest a child may take to say it is listening. */
const READY_TIMEOUT_MS = 20_000

// --- child processes -------------------------------------------------------------------

export interface Child {
  name: string
  proc: NodeChild['proc']
  pid: number
  /** the last lines it wrote, for an error message */
  tail: string[]
  /** lines it logged at warn level or above (pino: level >= 40) */
  problems: string[]
  /** Stops it (SIGTERM, then SIGKILL after a grace time) and runs its cleanup. */
  stop: () => Promise<void>
}

const children = new Set<Child>()
const cleanups = new Map<Child, () => void>()

/** Every child still running, SIGKILLed at once; for process exit, where nothing can wait. */
export function killAllNow (): void {
  for (const c of children) {
    try { c.proc.kill('SIGKILL') } catch {}
    cleanups.get(c)?.()
  }
  children.clear()
}

/** Every child still running, stopped (SIGTERM, then SIGKILL after a grace time); then every bench database still there, dropped. */
export async function stopAll (): Promise<void> {
  await Promise.all([...children].map((c) => c.stop()))
  await Promise.all([...databases].map((db) => db.drop().catch((err) => console.error(`bench: could not drop database ${db.name}: ${(err as Error).message}`))))
}

process.on('exit', killAllNow)

/**
 * Starts `node --import tsx <script>` and resolves once a stdout line passes `ready`
 * (its parsed JSON is returned). Its output is read to its end, so the child never blocks.
 */
export async function spawnNode (name: string, script: string, opts: {
  env?: Record<string, string>
  nodeFlags?: string[]
  ready: (line: any) => boolean
  /** runs once the child has exited (also when this process exits first) */
  cleanup?: () => void
}): Promise<{ child: Child, readyLine: any }> {
  // stdin is a pipe the child may watch: it closes when this process dies.
  const c = spawnChild(script, { env: { ...inheritedEnv(), ...opts.env }, nodeFlags: opts.nodeFlags ?? [], stdin: 'pipe', keep: false })
  const tail: string[] = []
  const problems: string[] = []
  c.onLine((line, stream) => {
    tail.push(line)
    if (tail.length > 20) tail.shift()
    if (stream !== 'stdout') return
    let parsed: any = null
    try { parsed = JSON.parse(line) } catch {}
    if (parsed !== null && typeof parsed.level === 'number' && parsed.level >= 40) problems.push(line)
  })
  let ready = false
  const child: Child = {
    name,
    proc: c.proc,
    pid: c.pid,
    tail,
    problems,
    async stop () {
      if (!children.delete(child)) return
      if (c.hasExited() && ready) {
        console.log(`    (${name} had exited by itself: exit code ${c.proc.exitCode}, signal ${c.proc.signalCode}; its last lines:\n      ${tail.join('\n      ')})`)
      } else if (!c.hasExited()) {
        const t0 = Date.now()
        await c.stop(STOP_GRACE_MS)
        // A clean stop is part of what the bench sees: say when it was not.
        if (c.proc.exitCode !== 0) {
          console.log(`    (${name} did not stop cleanly on SIGTERM: exit code ${c.proc.exitCode}, signal ${c.proc.signalCode}, after ${Date.now() - t0} ms)`)
        }
      }
      c.proc.stdin?.destroy()
      cleanups.get(child)?.()
      cleanups.delete(child)
    }
  }
  children.add(child)
  if (opts.cleanup !== undefined) cleanups.set(child, opts.cleanup)
  try {
    const readyLine = await c.line(opts.ready, 'its ready line', READY_TIMEOUT_MS)
    ready = true
    return { child, readyLine }
  } catch (err) {
    await child.stop()
    throw new Error(`${name}: ${(err as Error).message}; its last lines:\n  ${tail.join('\n  ')}`)
  }
}

/** This process's environment without MQCHAT_* settings: the shell's must not change the bench. */
function inheritedEnv (): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MQCHAT_')))
}

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

// --- the targets -------------------------------------------------------------------------

export interface BareAedes {
  child: Child
  port: number
}

/** A bare aedes broker (no auth, no hooks) in its own process: bench/bare-aedes.ts. */
export async function startBareAedes (opts: { nodeFlags?: string[] } = {}): Promise<BareAedes> {
  const { child, readyLine } = await spawnNode('bare aedes', path.join(ROOT, 'bench', 'bare-aedes.ts'), {
    nodeFlags: opts.nodeFlags ?? [],
    ready: (l) => typeof l.port === 'number'
  })
  return { child, port: readyLine.port }
}

export const MQCHAT_DOMAIN = 'bench'
const ADMIN_KEY = 'bench-operator-key-0123456789abcdef'

export interface Mqchat {
  child: Child
  mqttPort: number
  httpPort: number
  apiKey: string
  /** Mints a token for `userid` through the REST API. */
  token: (userid: number) => Promise<string>
  /** Calls the REST API (`key` defaults to the bench domain's key); throws unless `expect`. */
  api: (method: string, p: string, body: unknown, expect: number, key?: string) => Promise<any>
  /** the operator key */
  adminKey: string
  /** its data dir (the embedded database is `mqchat.sqlite` there) */
  dataDir: string
  /** Stops the child and removes its data dir. */
  stop: () => Promise<void>
}

/**
 * mqchat as a user runs it (`node --import tsx src/main.ts`), on free ports, with a fresh data
 * dir and the bench domain created. The per-user send limit is lifted so it does not
 * throttle the load. With `cpuProfDir`, the child writes a V8 CPU profile there on exit.
 */
export async function startMqchat (opts: { cpuProfDir?: string, nodeFlags?: string[], env?: Record<string, string> } = {}): Promise<Mqchat> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqchat-bench-'))
  const nodeFlags = [...(opts.nodeFlags ?? []), ...(opts.cpuProfDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', opts.cpuProfDir])]
  const removeDataDir = (): void => fs.rmSync(dataDir, { recursive: true, force: true })
  let started
  try {
    started = await spawnNode('mqchat', path.join(ROOT, 'src', 'main.ts'), {
      nodeFlags,
      cleanup: removeDataDir,
      env: {
        MQCHAT_HTTP_PORT: '0',
        MQCHAT_MQTT_PORT: '0',
        MQCHAT_HOST: HOST,
        MQCHAT_DATA_DIR: dataDir,
        MQCHAT_ADMIN_KEY: ADMIN_KEY,
        MQCHAT_USER_RATE: '1000000/1s,burst=1000000',
        MQCHAT_LOG_LEVEL: 'info',
        ...opts.env
      },
      ready: (l) => l.msg === 'mqchat ready'
    })
  } catch (err) {
    removeDataDir()
    throw err
  }
  const { child, readyLine } = started
  const stop = (): Promise<void> => child.stop()
  try {
    const rest = restClient(`http://${HOST}:${readyLine.httpPort}/api/v1`, ADMIN_KEY, { timeoutMs: 10_000 })
    const call = (method: string, p: string, body: unknown, expect: number, key: string): Promise<any> =>
      expectStatus(`${method} ${p}`, rest(method, p, body, key), expect)
    const created = await call('POST', '/domains', { id: MQCHAT_DOMAIN, name: 'Bench' }, 201, ADMIN_KEY)
    const apiKey: string = created.apiKey
    return {
      child,
      mqttPort: readyLine.mqttPort,
      httpPort: readyLine.httpPort,
      apiKey,
      token: async (userid) => (await call('POST', `/domains/${MQCHAT_DOMAIN}/users/${userid}/token`, { ttlSeconds: 3600 }, 200, apiKey)).token,
      api: (method, p, body, expect, key = apiKey) => call(method, p, body, expect, key),
      adminKey: ADMIN_KEY,
      dataDir,
      stop
    }
  } catch (err) {
    await stop()
    throw err
  }
}

// --- PostgreSQL ----------------------------------------------------------------------------

/** The machine's PostgreSQL (trust auth), where each mqchat child on PostgreSQL gets a fresh database. */
export const PG_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres'

export interface BenchDatabase {
  name: string
  url: string
  /** Drops it (WITH (FORCE): a child that is still connected does not keep it); once. */
  drop: () => Promise<void>
}

/** Databases created and not yet dropped: stopAll drops them (on error, Ctrl-C and the deadline too). */
const databases = new Set<BenchDatabase>()
let dbSeq = 0

async function adminQuery (sql: string): Promise<void> {
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL })
  await admin.connect()
  try {
    await admin.query(sql)
  } finally {
    await admin.end()
  }
}

/** A new empty database on the machine's PostgreSQL: mqchat_bench_<pid>_<n>. */
export async function freshDatabase (): Promise<BenchDatabase> {
  const name = `mqchat_bench_${process.pid}_${++dbSeq}`
  await adminQuery(`CREATE DATABASE ${name}`)
  const url = new URL(PG_ADMIN_URL)
  url.pathname = `/${name}`
  const db: BenchDatabase = {
    name,
    url: url.toString(),
    async drop () {
      if (!databases.delete(db)) return
      await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    }
  }
  databases.add(db)
  return db
}

export type StoreKind = 'sqlite' | 'postgres'

/**
 * startMqchat on the embedded SQLite, or on a fresh PostgreSQL database (MQCHAT_DATABASE_URL)
 * that its stop() drops once the child has stopped.
 */
export async function startMqchatOn (store: StoreKind, opts: Parameters<typeof startMqchat>[0] = {}): Promise<Mqchat> {
  if (store === 'sqlite') return startMqchat(opts)
  const db = await freshDatabase()
  let mq: Mqchat
  try {
    mq = await startMqchat({ ...opts, env: { ...opts.env, MQCHAT_DATABASE_URL: db.url } })
  } catch (err) {
    await db.drop()
    throw err
  }
  return {
    ...mq,
    stop: async () => {
      try {
        await mq.stop()
      } finally {
        await db.drop()
      }
    }
  }
}

/** Mosquitto's usual port: the bench uses a broker already running there, if any. */
export const MOSQUITTO_PORT = 1883

/** Is something accepting TCP connections at port? */
export function answers (port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: HOST, port })
    const done = (ok: boolean): void => { s.destroy(); resolve(ok) }
    s.setTimeout(timeoutMs, () => done(false))
    s.once('connect', () => done(true))
    s.once('error', () => done(false))
  })
}

// --- raw idle connections --------------------------------------------------------------

/**
 * One MQTT 3.1.1 connection with a hand-built CONNECT (clean session, keep-alive 0): cheaper
 * for this process than an mqtt.js client. Resolves with the socket once the CONNACK accepts.
 */
export const rawConnect = (port: number, clientId: string, username?: string, password?: string): Promise<net.Socket> =>
  connectAccepted(port, { clientId, username, password }, 10_000, HOST)

/** Runs `fn` over `items` with at most `limit` at once; results in order. */
export async function pool<T, R> (items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i]!, i)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return out
}

// --- output ------------------------------------------------------------------------------

export const int = (n: number): string => Math.round(n).toLocaleString('en-US')
export const fixed = (n: number, digits = 2): string => n.toFixed(digits)
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
