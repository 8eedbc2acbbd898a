// Builds the services from a config and runs them: start in order, stop in reverse.
// main.ts runs one for the process; tests run them in-process.
import { randomUUID } from 'node:crypto'
import { Broker } from './broker/index.ts'
import { Callbacks } from './callbacks/index.ts'
import { RedisBus } from './cluster/bus.ts'
import { clusterNotifier } from './cluster/fanout.ts'
import { ChatService, Notifications } from './chat/index.ts'
import { Retention } from './chat/retention.ts'
import type { Config } from './config.ts'
import { createStorage, Files } from './files/index.ts'
import { Http } from './http/index.ts'
import type { Logger } from './log.ts'
import { createMetrics } from './metrics.ts'
import { Push } from './push/index.ts'
import { loadOperatorKey } from './operator-key.ts'
import type { Service } from './service.ts'
import { createStore, type Store } from './store/index.ts'
import { VERSION } from './version.ts'

export interface App {
  config: Config
  store: Store
  chat: ChatService
  retention: Retention
  callbacks: Callbacks
  broker: Broker
  http: Http
  files: Files
  push: Push
  operatorKey: string
  /** the bound ports (useful with port 0) */
  readonly mqttPort: number
  readonly httpPort: number
  stop(): Promise<void>
}

export async function startApp (config: Config, log: Logger): Promise<App> {
  const operator = loadOperatorKey(config.dataDir, config.adminKey)
  if (operator.generated) {
    // Printed once, on the terminal (stderr), never in the JSON log: SPEC §1.
    process.stderr.write(`\nmqchat: generated the operator key (saved in ${operator.file}):\n\n    ${operator.key}\n\n`)
  }
  let ready = false
  // One id for this process: it holds outbox leases and writes presence under it.
  const nodeId = randomUUID()
  // A node taken for gone (paused past its liveness limit) had its users sent offline by the
  // others: it lets their sockets go, and they connect again as new.
  const store = createStore(config, nodeId, log, () => {
    chat.presence.forget()
    broker.dropAll()
  })
  let http: Http | null = null
  // SPEC §1: file URLs start with MQCHAT_PUBLIC_URL; unset, with the port the HTTP side bound.
  const publicUrl = (): string => config.publicUrl ?? `http://localhost:${http?.port ?? config.httpPort}`
  const files = new Files(store, createStorage(config), config, publicUrl, log.child({ module: 'files' }))
  // Several nodes (MQCHAT_REDIS_URL): the bus carries each node's publishes to the others.
  const bus = config.redisUrl === null ? null : new RedisBus(config.redisUrl, config.redisPrefix, nodeId, log.child({ module: 'bus' }))
  const shared = store.sharedPresence
  const metrics = createMetrics({
    connections: () => broker.connections,
    messages: () => chat.messages.sent,
    pendingByKind: () => store.countPendingByKind(),
    cluster: bus === null || shared === undefined ? undefined : { nodes: () => shared.countNodes(), busUp: () => bus.healthy },
    files: () => files.stats
  })
  const callbacks = new Callbacks(store, {
    timeoutMs: config.callbackTimeoutMs,
    retryDelaysMs: config.callbackRetryDelaysMs,
    allowPrivate: config.callbackAllowPrivate,
    userAgent: `mqchat/${VERSION}`
  }, metrics.deliveries, log.child({ module: 'callbacks' }))
  // What the chat does, told to whoever hears it (the listeners are added below, once built).
  const notifications = new Notifications()
  const chat = new ChatService(store, config, operator.key, log.child({ module: 'chat' }), notifications, {
    publicUrl,
    sharedTake: bus === null ? undefined : (key, perSecond, burst) => bus.take(key, perSecond, burst)
  })
  const push = new Push(store, config, {
    connectedHere: (d, u) => chat.presence.connectedHere(d, u),
    userAgent: `mqchat/${VERSION}`,
    observer: metrics.pushes
  }, log.child({ module: 'push' }))
  const broker = new Broker(config, chat, log.child({ module: 'broker' }), bus)
  // This node's own hearers: its calls (before the broker: a user's calls end before its
  // connections close), then its broker. With several nodes the bus carries what this node
  // says to the others' and what theirs say to these.
  const here = new Notifications().add(chat.calls.listener, broker)
  notifications.add(
    // every commit that wrote an event wakes the outbox, at once
    { messageStored: (d) => { callbacks.wake(d) }, presenceChanged: (d) => { callbacks.wake(d) } },
    { messageStored: (d, e) => push.messageStored(d, e) },
    bus === null ? here : clusterNotifier(here, bus)
  )
  const retention = new Retention(store, config.retentionDays, log.child({ module: 'retention' }))
  http = new Http({ config, chat, callbacks, files, push, broker, metrics: metrics.registry, ready: () => ready, bus, log, version: VERSION })

  const storeService: Service = { name: 'store', start: () => store.open(), stop: () => store.close() }
  // Callbacks stop after chat, so the offline events of the users it disconnects go out too.
  // The HTTP side carries MQTT over WebSocket, so it starts after the broker and stops first.
  const services: Service[] = [storeService, files, ...(bus === null ? [] : [bus]), callbacks, push, chat, retention, broker, http]
  const started: Service[] = []
  const stop = async (): Promise<void> => {
    ready = false
    for (const s of started.reverse()) {
      try {
        await s.stop()
      } catch (err) {
        log.error({ err, service: s.name }, 'service did not stop cleanly')
      }
    }
    started.length = 0
  }
  try {
    for (const s of services) {
      await s.start()
      started.push(s)
    }
  } catch (err) {
    await stop()
    throw err
  }
  ready = true
  log.info({ mqttPort: broker.port, httpPort: http.port, host: config.host, dataDir: config.dataDir, version: VERSION }, 'mqchat ready')
  return {
    config, store, chat, retention, callbacks, broker, http: http!, files, push, operatorKey: operator.key,
    get mqttPort () { return broker.port },
    get httpPort () { return http!.port },
    stop
  }
}
