// A real mqchat, in this process, on free ports, with a fresh data dir; closed after the test.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { TestContext } from 'node:test'
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import { startApp, type App } from '../../src/app.ts'
import { loadConfig, type Config } from '../../src/config.ts'
import { createLogger } from '../../src/log.ts'
import { freshDatabase } from './postgres.ts'
import { restClient, type Rest } from './rest.ts'

export interface TestServer {
  app: App
  dataDir: string
  httpUrl: string
  mqttUrl: string
  wsUrl: string
  operatorKey: string
  /** Calls the REST API; `key` defaults to the operator key. */
  api: Rest
  /** Creates a domain and returns its keys. */
  domain: (id?: string) => Promise<{ id: string, apiKey: string, tokenSecret: string }>
  /** Mints a token for a user through the API. */
  token: (domain: { id: string, apiKey: string }, userid: number, ttlSeconds?: number) => Promise<string>
  /** Connects a user over MQTT (TCP, or WebSocket with ws: true); resolves once connected. */
  connect: (domain: { id: string, apiKey: string }, userid: number, opts?: IClientOptions & { ws?: boolean }) => Promise<MqttClient>
  stop: () => Promise<void>
}

let domainSeq = 0
const databaseOfDir = new Map<string, string>()

export async function startServer (t: TestContext, overrides: Partial<Config> = {}, env: Record<string, string> = {}): Promise<TestServer> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqchat-test-'))
  // MQCHAT_TEST_STORE=postgres runs the same suite on a fresh PostgreSQL database per server
  // (per data dir: a test that restarts a server on its data dir finds its database again).
  if (process.env.MQCHAT_TEST_STORE === 'postgres' && env.MQCHAT_DATABASE_URL === undefined) {
    const dir = env.MQCHAT_DATA_DIR ?? dataDir
    let url = databaseOfDir.get(dir)
    if (url === undefined) databaseOfDir.set(dir, url = await freshDatabase())
    env = { ...env, MQCHAT_DATABASE_URL: url }
  }
  const config = loadConfig({
    MQCHAT_HTTP_PORT: '0',
    MQCHAT_MQTT_PORT: '0',
    MQCHAT_HOST: '127.0.0.1',
    MQCHAT_DATA_DIR: dataDir,
    MQCHAT_ADMIN_KEY: 'test-operator-key-0123456789',
    MQCHAT_PRESENCE_GRACE_MS: '200',
    ...env
  }, overrides)
  let app: Awaited<ReturnType<typeof startApp>>
  try {
    app = await startApp(config, createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'))
  } catch (err) {
    // a test that expects the start to fail leaves no data dir either
    for (const dir of new Set([dataDir, config.dataDir])) fs.rmSync(dir, { recursive: true, force: true })
    throw err
  }
  const clients = new Set<MqttClient>()
  let stopped = false
  const stop = async (): Promise<void> => {
    if (stopped) return
    stopped = true
    await Promise.all([...clients].map((c) => c.endAsync(true).catch(() => {})))
    await app.stop()
  }
  t.after(async () => {
    try {
      await stop()
    } finally {
      // and the dir it really used: a server started again on another's data dir
      // (MQCHAT_DATA_DIR) writes there after the first one removed it
      for (const dir of new Set([dataDir, config.dataDir])) fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  const httpUrl = `http://127.0.0.1:${app.httpPort}`
  const api: TestServer['api'] = restClient(httpUrl, app.operatorKey)
  const server: TestServer = {
    app,
    dataDir,
    httpUrl,
    mqttUrl: `mqtt://127.0.0.1:${app.mqttPort}`,
    wsUrl: `ws://127.0.0.1:${app.httpPort}/mqtt`,
    operatorKey: app.operatorKey,
    api,
    async domain (id = `d${process.pid}-${++domainSeq}`) {
      const r = await api('POST', '/api/v1/domains', { id, name: `Domain ${id}` })
      if (r.status !== 201) throw new Error(`domain not created: ${JSON.stringify(r.body)}`)
      return r.body
    },
    async token (domain, userid, ttlSeconds = 3600) {
      const r = await api('POST', `/api/v1/domains/${domain.id}/users/${userid}/token`, { ttlSeconds }, domain.apiKey)
      if (r.status !== 200) throw new Error(`token not minted: ${JSON.stringify(r.body)}`)
      return r.body.token
    },
    async connect (domain, userid, opts = {}) {
      const password = await server.token(domain, userid)
      const { ws, ...rest } = opts
      const client = await mqtt.connectAsync(ws === true ? server.wsUrl : server.mqttUrl, {
        username: `${domain.id}/${userid}`,
        password,
        reconnectPeriod: 0,
        connectTimeout: 5000,
        ...rest
      })
      clients.add(client)
      return client
    },
    stop
  }
  return server
}

/** Collects the messages a client receives, to await the ones a test expects. */
export class Inbox {
  readonly received: Array<{ topic: string, payload: any, retain: boolean }> = []
  private waiters: Array<() => void> = []

  constructor (client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      let body: unknown = payload.toString()
      try { body = JSON.parse(payload.toString()) } catch {}
      this.received.push({ topic, payload: body, retain: packet.retain })
      for (const w of this.waiters.splice(0)) w()
    })
  }

  /** Resolves with the first received message that matches. */
  async next (match: (m: { topic: string, payload: any, retain: boolean }) => boolean, what = 'a message', timeoutMs = 5000): Promise<{ topic: string, payload: any, retain: boolean }> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = this.received.find(match)
      if (found !== undefined) return found
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.received)}`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.waiters.push(() => { clearTimeout(timer); resolve() })
      })
    }
  }

  on (topic: string): Array<{ topic: string, payload: any, retain: boolean }> {
    return this.received.filter((m) => m.topic === topic)
  }
}
