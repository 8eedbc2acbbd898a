// What the benches measure against: a bare aedes broker and mqchat as a user runs it, each in
// a child process; mqchat on SQLite or on a fresh PostgreSQL database; several mqchat nodes on
// one database and the machine's Redis; and whether Mosquitto answers on its usual port.
// stopAll stops every child and drops every bench database still there.
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { createDatabase, deleteKeys, PG_ADMIN_URL, REDIS_URL, withRedis, type Database } from '../test/helpers/pg-redis.ts'
import { expectStatus, restClient } from '../test/helpers/rest.ts'
import { HOST, ROOT, spawnNode, stopChildren, type Child } from './processes.ts'

/** Every child still running, stopped (SIGTERM, then SIGKILL after a grace time); then every bench database still there, dropped. */
export async function stopAll (): Promise<void> {
  await stopChildren()
  await Promise.all([...databases].map((db) => db.drop().catch((err) => console.error(`bench: could not drop database ${db.name}: ${(err as Error).message}`))))
}

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
