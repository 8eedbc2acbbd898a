// Several real mqchat processes on one fresh PostgreSQL database and the machine's Redis
// (a key prefix of their own), as an operator runs a cluster (SPEC §6).
import type { TestContext } from 'node:test'
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import { freshDatabase } from './postgres.ts'
import { processApi, run, tempDir, type Proc } from './process.ts'
import type { Rest } from './rest.ts'
import { REDIS_URL, freshRedisPrefix } from './redis.ts'
import type { TcpProxy } from './tcp-proxy.ts'

export { REDIS_URL }
export const OPERATOR_KEY = 'test-operator-key-0123456789'

export interface ClusterNode {
  proc: Proc
  api: Rest
  httpUrl: string
  mqttUrl: string
}

export interface Cluster {
  nodes: ClusterNode[]
  databaseUrl: string
  redisPrefix: string
  /** Connects a user to a node over MQTT (a fresh token from that node's API). */
  connect: (node: ClusterNode, domain: { id: string, apiKey: string }, userid: number, opts?: IClientOptions) => Promise<MqttClient>
  /** Starts one more node on the same database and Redis. */
  add: () => Promise<ClusterNode>
}

export async function startCluster (t: TestContext, n: number, env: Record<string, string> = {}, opts: { databaseProxy?: TcpProxy } = {}): Promise<Cluster> {
  let databaseUrl = await freshDatabase()
  if (opts.databaseProxy !== undefined) {
    // every node reaches the database through the test's proxy, which the test can cut
    const u = new URL(databaseUrl)
    await opts.databaseProxy.target(u.hostname, Number(u.port)).start(t)
    u.host = `127.0.0.1:${opts.databaseProxy.port}`
    databaseUrl = u.toString()
  }
  const redisPrefix = await freshRedisPrefix()
  const clients = new Set<MqttClient>()
  t.after(async () => { await Promise.all([...clients].map((c) => c.endAsync(true).catch(() => {}))) })
  const add = async (): Promise<ClusterNode> => {
    const proc = run(t, {
      MQCHAT_DATA_DIR: tempDir(t),
      MQCHAT_ADMIN_KEY: OPERATOR_KEY,
      MQCHAT_DATABASE_URL: databaseUrl,
      MQCHAT_DATABASE_POOL_SIZE: '4',
      MQCHAT_REDIS_URL: REDIS_URL,
      MQCHAT_REDIS_PREFIX: redisPrefix,
      MQCHAT_PRESENCE_GRACE_MS: '200',
      MQCHAT_CALLBACK_ALLOW_PRIVATE: '1',
      MQCHAT_CALLBACK_TIMEOUT_MS: '1000',
      MQCHAT_CALLBACK_RETRY_DELAYS: '100ms,100ms,100ms',
      MQCHAT_LOG_LEVEL: 'info',
      ...env
    })
    const { httpPort, mqttPort } = await proc.ready
    return { proc, api: processApi(httpPort, OPERATOR_KEY), httpUrl: `http://127.0.0.1:${httpPort}`, mqttUrl: `mqtt://127.0.0.1:${mqttPort}` }
  }
  // Started together: the migrations run once, under their advisory lock.
  const nodes = await Promise.all(Array.from({ length: n }, add))
  return {
    nodes,
    databaseUrl,
    redisPrefix,
    add,
    async connect (node, domain, userid, opts = {}) {
      const r = await node.api('POST', `/api/v1/domains/${domain.id}/users/${userid}/token`, { ttlSeconds: 3600 }, domain.apiKey)
      if (r.status !== 200) throw new Error(`token: ${r.status} ${JSON.stringify(r.body)}`)
      const client = await mqtt.connectAsync(node.mqttUrl, { username: `${domain.id}/${userid}`, password: r.body.token, reconnectPeriod: 0, connectTimeout: 5000, ...opts })
      clients.add(client)
      return client
    }
  }
}
