// What the benches share: child processes that are always killed, the mqchat child and its
// API, raw MQTT connections for idle-memory counts, and number formatting. The pieces the
// tests use too (a Node child, the REST client, a hand-built CONNECT, a PostgreSQL database
// made and dropped, a Redis prefix's keys deleted) come from the one test kit in test/helpers/.
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import mqtt, { type MqttClient } from 'mqtt'
import { ROOT, spawnNode as spawnChild, STOP_GRACE_MS, type NodeChild } from '../test/helpers/child.ts'
import { connectAccepted } from '../test/helpers/mqtt.ts'
import { createDatabase, deleteKeys, PG_ADMIN_URL, pgAdmin, REDIS_URL, withRedis, type Database } from '../test/helpers/pg-redis.ts'
import { expectStatus, restClient } from '../test/helpers/rest.ts'
import type { Redis } from 'ioredis'
import type pg from 'pg'

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
  /** on PostgreSQL: its database's name (to read the backends' CPU) */
  database?: string
}

/**
 * mqchat as a user runs it (`node --import tsx src/main.ts`), on free ports, with a fresh data
 * dir and the bench domain created. The per-user send limit is lifted so it does not
 * throttle the load. With `cpuProfDir`, the child writes a V8 CPU profile there on exit.
 */
export async function startMqchat (opts: {
  cpuProfDir?: string
  nodeFlags?: string[]
  env?: Record<string, string>
  /** the bench domain's key when another node of the same database created it already */
  domainKey?: string
} = {}): Promise<Mqchat> {
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
    const apiKey: string = opts.domainKey ?? (await call('POST', '/domains', { id: MQCHAT_DOMAIN, name: 'Bench' }, 201, ADMIN_KEY)).apiKey
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

/** The machine's PostgreSQL (trust auth; the test kit's MQCHAT_TEST_PG_URL for another), where each mqchat child on PostgreSQL gets a fresh database. */
export { PG_ADMIN_URL }

/** Databases created and not yet dropped: stopAll drops them (on error, Ctrl-C and the deadline too). */
const databases = new Set<Database>()
let dbSeq = 0

/** A new empty database on the machine's PostgreSQL: mqchat_bench_<pid>_<n>; its drop() drops it once. */
export async function freshDatabase (): Promise<Database> {
  const made = await createDatabase(`mqchat_bench_${process.pid}_${++dbSeq}`)
  const db: Database = { ...made, drop: async () => { if (databases.delete(db)) await made.drop() } }
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
    database: db.name,
    stop: async () => {
      try {
        await mq.stop()
      } finally {
        await db.drop()
      }
    }
  }
}

// --- several nodes: PostgreSQL and Redis ------------------------------------------------------

/** The machine's Redis (the test kit's MQCHAT_TEST_REDIS_URL for another), shared with whatever else runs here: each cluster gets a key prefix of its own. */
export { REDIS_URL }

export interface Cluster {
  nodes: Mqchat[]
  db: Database
  redisPrefix: string
  /** Stops every node, drops the database and deletes the keys under the prefix. */
  stop: () => Promise<void>
}

/**
 * `n` mqchat nodes on one fresh PostgreSQL database and the machine's Redis under
 * `redisPrefix`, as a user runs several (MQCHAT_DATABASE_URL + MQCHAT_REDIS_URL). The first
 * node migrates the database and creates the bench domain; the others join it.
 */
export async function startCluster (n: number, redisPrefix: string, opts: Parameters<typeof startMqchat>[0] = {}): Promise<Cluster> {
  const db = await freshDatabase()
  const nodes: Mqchat[] = []
  const stop = async (): Promise<void> => {
    try {
      await Promise.all(nodes.map((node) => node.stop()))
    } finally {
      await db.drop()
      await withRedis((redis) => deleteKeys(redis, redisPrefix)).catch((err) => console.error(`bench: could not delete the Redis keys ${redisPrefix}*: ${(err as Error).message}`))
    }
  }
  try {
    const env = { ...opts.env, MQCHAT_DATABASE_URL: db.url, MQCHAT_REDIS_URL: REDIS_URL, MQCHAT_REDIS_PREFIX: redisPrefix }
    nodes.push(await startMqchat({ ...opts, env }))
    const domainKey = nodes[0]!.apiKey
    nodes.push(...await Promise.all(Array.from({ length: n - 1 }, () => startMqchat({ ...opts, env, domainKey }))))
  } catch (err) {
    await stop()
    throw err
  }
  return { nodes, db, redisPrefix, stop }
}

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

// --- the chat load ---------------------------------------------------------------------
// "50 senders each sending 200 QoS 1 messages to 50 receivers", against one broker or
// spread over several (the cluster bench): see bench/chat.ts for how it is built.

export const SENDERS = 50
export const RECEIVERS = 50
export const MESSAGES_PER_SENDER = 200
export const FIRST_SENDER = 1
export const FIRST_RECEIVER = 1001
/** PUBACKs each sender may be waiting for at once. */
export const WINDOW = Number(process.env.BENCH_WINDOW ?? 10)
/** Warm-up messages per sender (50 × 4 = 200), sent and received before measuring. */
export const WARMUP_PER_SENDER = 4
const WARMUP_TIMEOUT_MS = 15_000
/** The measured run is cut short after this; what arrived by then is reported. */
const RUN_TIMEOUT_MS = 30_000
const CONNECT_TIMEOUT_MS = 5000

export const TOTAL = SENDERS * MESSAGES_PER_SENDER

export interface Target {
  name: string
  /**
   * Where the clients connect: sender i (0-based) to ports[i % n], receiver j to
   * ports[j % n]. One port for one broker; one per node for a cluster.
   */
  ports: number[]
  /** the server processes (one per port), to read their CPU time; empty for none */
  pids: number[]
  /** MQTT username and password for a user; undefined for none */
  login: (userid: number) => Promise<{ username?: string, password?: string }>
  /** where a sender publishes a message for `to` */
  sendTopic: (from: number, to: number) => string
  /** the message text in an inbox payload */
  textOf: (payload: any) => unknown
  /** where the server acks a sender; undefined when it does not */
  ackTopic?: (userid: number) => string
  /** run just before the measured run starts and just after its last message arrived (counters read from outside) */
  around?: { start: () => Promise<void>, end: () => Promise<void> }
}

export interface LoadResult {
  received: number
  expected: number
  msgPerS: number
  p50Ms: number
  p99Ms: number
  maxMs: number
  /** server CPU time per message, in µs, all server processes together; null when not readable */
  cpuUsPerMsg: number | null
  /** the same for each server process (in the order of Target.pids); null when not readable */
  cpuUsPerMsgByPid: number[] | null
  /** share of one core the servers used during the run, together; null when not readable */
  serverCorePct: number | null
  /** share of one core this process (the load generator) used during the run */
  genCorePct: number
  /** share of the measured messages whose sender and receiver are on different ports (nodes) */
  crossShare: number
  ackErrors: number
  publishErrors: number
}

export const inbox = (u: number): string => `chat/${MQCHAT_DOMAIN}/${u}/inbox`

export function report (name: string, r: LoadResult, extra = ''): LoadResult {
  const partial = r.received < r.expected ? `  (only ${int(r.received)} of ${int(r.expected)} arrived within ${RUN_TIMEOUT_MS / 1000} s)` : ''
  const errs = r.publishErrors > 0 ? `  ${int(r.publishErrors)} publish errors` : ''
  console.log(`    ${name.padEnd(12)} ${int(r.msgPerS).padStart(7)} msg/s  p50 ${fixed(r.p50Ms).padStart(7)} ms  p99 ${fixed(r.p99Ms).padStart(7)} ms  max ${fixed(r.maxMs).padStart(7)} ms${errs}${partial}${extra === '' ? '' : '   ' + extra}`)
  const server = r.cpuUsPerMsg === null ? 'server CPU not readable' : `server CPU ${int(r.cpuUsPerMsg)} µs/msg (${int(r.serverCorePct!)}% of a core)`
  console.log(`    ${''.padEnd(12)} ${server}, load generator ${int(r.genCorePct)}% of a core`)
  return r
}

/** Connects the clients, warms up, runs the measured load, and closes the clients. */
export async function runLoad (t: Target): Promise<LoadResult> {
  const clients: MqttClient[] = []
  try {
    const connect = async (userid: number, role: string, i: number): Promise<MqttClient> => {
      const c = await mqtt.connectAsync(`mqtt://${HOST}:${t.ports[i % t.ports.length]!}`, {
        clientId: `bench-${process.pid}-${role}${userid}`,
        clean: true,
        reconnectPeriod: 0,
        connectTimeout: CONNECT_TIMEOUT_MS,
        ...(await t.login(userid))
      })
      clients.push(c)
      return c
    }
    const receiverIds = Array.from({ length: RECEIVERS }, (_, i) => FIRST_RECEIVER + i)
    const senderIds = Array.from({ length: SENDERS }, (_, i) => FIRST_SENDER + i)
    const receivers = await Promise.all(receiverIds.map((u, i) => connect(u, 'r', i)))
    const senders = await Promise.all(senderIds.map((u, i) => connect(u, 's', i)))
    await Promise.all(receivers.map((c, i) => c.subscribeAsync(inbox(receiverIds[i]!), { qos: 1 })))

    let ackErrors = 0
    if (t.ackTopic !== undefined) {
      const ackTopic = t.ackTopic
      await Promise.all(senders.map((c, i) => c.subscribeAsync(ackTopic(senderIds[i]!), { qos: 1 })))
      for (const c of senders) {
        c.on('message', (_topic, payload) => {
          if (payload.includes('"error"')) ackErrors++
        })
      }
    }

    // The receivers' tally of the current phase.
    let phase = 'w'
    let expected = 0
    let got = 0
    let lastArrival = 0
    let latencies = new Float64Array(0)
    let arrived: () => void = () => {}
    for (const c of receivers) {
      c.on('message', (_topic, payload) => {
        const now = performance.now()
        let text: unknown
        try { text = t.textOf(JSON.parse(payload.toString('utf8'))) } catch {}
        if (typeof text !== 'string' || text[0] !== phase) return
        latencies[got++] = now - Number(text.slice(2, text.indexOf(' ', 2)))
        lastArrival = now
        if (got === expected) arrived()
      })
    }

    let publishErrors = 0
    let seq = 0
    /** Each sender sends `perSender` messages, WINDOW at a time; resolves when all arrived or at `timeoutMs`. */
    const run = async (tag: string, perSender: number, timeoutMs: number): Promise<{ start: number, complete: boolean }> => {
      phase = tag
      expected = SENDERS * perSender
      got = 0
      latencies = new Float64Array(expected)
      let timer: NodeJS.Timeout | undefined
      const allArrived = new Promise<boolean>((resolve) => {
        arrived = () => resolve(true)
        timer = setTimeout(() => resolve(false), timeoutMs)
      })
      const start = performance.now()
      senders.forEach((c, i) => {
        const from = senderIds[i]!
        let sent = 0
        let acked = 0
        const pump = (): void => {
          while (sent < perSender && sent - acked < WINDOW && !c.disconnected) {
            const to = FIRST_RECEIVER + ((i + sent) % RECEIVERS)
            const payload = JSON.stringify({ to_userid: to, message: `${tag} ${performance.now().toFixed(3)} from ${from}`, type: 0, cid: String(++seq) })
            sent++
            c.publish(t.sendTopic(from, to), payload, { qos: 1 }, (err) => {
              if (err) publishErrors++
              acked++
              pump()
            })
          }
        }
        pump()
      })
      const complete = await allArrived
      clearTimeout(timer)
      return { start, complete }
    }

    const warm = await run('w', WARMUP_PER_SENDER, WARMUP_TIMEOUT_MS)
    if (!warm.complete) throw new Error(`${t.name}: warm-up: only ${got} of ${expected} messages arrived within ${WARMUP_TIMEOUT_MS} ms`)
    await t.around?.start()
    const cpuBefore = t.pids.map(cpuMs)
    const genBefore = process.cpuUsage()
    const { start } = await run('m', MESSAGES_PER_SENDER, RUN_TIMEOUT_MS)
    const wallMs = performance.now() - start
    const cpuAfter = t.pids.map(cpuMs)
    const gen = process.cpuUsage(genBefore)
    await t.around?.end()
    const byPid = t.pids.length === 0 || [...cpuBefore, ...cpuAfter].includes(null) ? null : t.pids.map((_, i) => cpuAfter[i]! - cpuBefore[i]!)
    const serverMs = byPid === null ? null : byPid.reduce((a, b) => a + b, 0)
    const received = got
    const sorted = latencies.subarray(0, received).sort()
    const pct = (p: number): number => received === 0 ? NaN : sorted[Math.min(received - 1, Math.ceil((p / 100) * received) - 1)]!
    return {
      received,
      expected: TOTAL,
      msgPerS: received === 0 ? 0 : received / ((lastArrival - start) / 1000),
      p50Ms: pct(50),
      p99Ms: pct(99),
      maxMs: received === 0 ? NaN : sorted[received - 1]!,
      cpuUsPerMsg: serverMs === null || received === 0 ? null : (serverMs * 1000) / received,
      cpuUsPerMsgByPid: byPid === null || received === 0 ? null : byPid.map((ms) => (ms * 1000) / received),
      crossShare: crossShare(t.ports.length),
      serverCorePct: serverMs === null ? null : (100 * serverMs) / wallMs,
      genCorePct: (100 * (gen.user + gen.system) / 1000) / wallMs,
      ackErrors,
      publishErrors
    }
  } finally {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => {})))
  }
}

/** Share of the measured messages (sender i's k-th goes to receiver (i + k) % RECEIVERS) sent across nodes. */
function crossShare (nodes: number): number {
  let cross = 0
  for (let i = 0; i < SENDERS; i++) {
    for (let k = 0; k < MESSAGES_PER_SENDER; k++) {
      if (i % nodes !== ((i + k) % RECEIVERS) % nodes) cross++
    }
  }
  return cross / TOTAL
}
