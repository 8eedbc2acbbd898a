// Prometheus metrics (SPEC §7). Values are read from the services when scraped, so the hot
// paths only bump plain numbers.
import { Counter, Gauge, Registry } from 'prom-client'

export interface MetricSources {
  connections: () => number
  messages: () => number
}

export function createMetrics (src: MetricSources): Registry {
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
  return registry
}
