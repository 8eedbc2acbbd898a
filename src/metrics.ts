// Prometheus metrics (SPEC §7). Values are read from the services when scraped, so the hot
// paths only bump plain numbers.
import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { DeliveryObserver } from './callbacks/dispatcher.ts'
import type { FileStats } from './files/index.ts'
import type { PushObserver } from './push/worker.ts'
import type { EventKind } from './store/index.ts'

export interface MetricSources {
  connections: () => number
  messages: () => number
  pendingByKind: () => Promise<Record<EventKind, number>>
  /** With several nodes: the nodes alive, and whether this node's bus is up. */
  cluster?: { nodes: () => Promise<number>, busUp: () => boolean }
  files?: () => FileStats
}

export interface Metrics {
  registry: Registry
  deliveries: DeliveryObserver
  pushes: PushObserver
}

export function createMetrics (src: MetricSources): Metrics {
  const registry = new Registry()
  new Gauge({
    name: 'mqchat_mqtt_connections',
    help: 'open MQTT connections (TCP and WebSocket) on this node',
    registers: [registry],
    collect () { this.set(src.connections()) }
  })
  let counted = 0
  new Counter({
    name: 'mqchat_messages_total',
    help: 'messages accepted (stored) on this node',
    registers: [registry],
    collect () {
      const now = src.messages()
      if (now > counted) { this.inc(now - counted); counted = now }
    }
  })
  new Gauge({
    name: 'mqchat_callback_pending',
    help: 'events waiting to be delivered',
    labelNames: ['kind'],
    registers: [registry],
    async collect () {
      const pending = await src.pendingByKind()
      for (const kind of ['presence', 'messages'] as const) this.set({ kind }, pending[kind])
    }
  })
  if (src.cluster !== undefined) {
    const cluster = src.cluster
    new Gauge({
      name: 'mqchat_cluster_nodes',
      help: 'nodes alive in the cluster (by the database)',
      registers: [registry],
      async collect () { this.set(await cluster.nodes()) }
    })
    new Gauge({
      name: 'mqchat_cluster_bus_up',
      help: '1 while this node hears its own pings through Redis (publishes reach the other nodes)',
      registers: [registry],
      collect () { this.set(cluster.busUp() ? 1 : 0) }
    })
  }
  const uploadsCounted = { picture: 0, record: 0 }
  new Counter({
    name: 'mqchat_file_uploads_total',
    help: 'files uploaded and stored on this node, by kind (picture, record)',
    labelNames: ['kind'],
    registers: [registry],
    collect () {
      const stats = src.files?.()
      for (const kind of ['picture', 'record'] as const) {
        const now = stats?.uploads[kind] ?? 0
        if (now > uploadsCounted[kind]) { this.inc({ kind }, now - uploadsCounted[kind]); uploadsCounted[kind] = now } else this.inc({ kind }, 0)
      }
    }
  })
  let bytesCounted = 0
  new Counter({
    name: 'mqchat_file_stored_bytes_total',
    help: 'bytes of files (with their thumbnails) stored by uploads on this node',
    registers: [registry],
    collect () {
      const now = src.files?.().bytesStored ?? 0
      if (now > bytesCounted) { this.inc(now - bytesCounted); bytesCounted = now }
    }
  })
  const deliveries = new Counter({ name: 'mqchat_callback_deliveries_total', help: 'delivery attempts', labelNames: ['kind', 'result'], registers: [registry] })
  const seconds = new Histogram({
    name: 'mqchat_callback_delivery_seconds',
    help: 'time of one delivery attempt',
    labelNames: ['kind'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry]
  })
  const lag = new Histogram({
    name: 'mqchat_callback_lag_seconds',
    help: 'from an event to its successful delivery',
    labelNames: ['kind'],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600],
    registers: [registry]
  })
  for (const kind of ['presence', 'messages']) for (const result of ['ok', 'failed']) deliveries.inc({ kind, result }, 0)
  // SPEC §10.1: web push attempts by how they ended (sent; gone: the subscription was removed;
  // retry; dropped: given up, or its subscription removed meanwhile).
  const pushes = new Counter({ name: 'mqchat_push_attempts_total', help: 'web push attempts by outcome', labelNames: ['result'], registers: [registry] })
  for (const result of ['sent', 'gone', 'retry', 'dropped']) pushes.inc({ result }, 0)
  return {
    registry,
    pushes: { attempt: (result) => pushes.inc({ result }) },
    deliveries: {
      attempt (kind, result, durationSec, lagSec) {
        deliveries.inc({ kind, result })
        seconds.observe({ kind }, durationSec)
        if (lagSec !== null) lag.observe({ kind }, lagSec)
      }
    }
  }
}
