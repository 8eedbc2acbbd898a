// The load generator's small tools: raw MQTT connections (for idle-connection counts), a pool
// that runs async work at a bounded concurrency, and sleep.
import type net from 'node:net'
import { packetReader } from '../client/mqtt-codec.ts'
import { connectAccepted } from '../test/helpers/mqtt.ts'
import { subscribePacket } from '../test/helpers/packets.ts'
import { HOST } from './processes.ts'

/**
 * One MQTT 3.1.1 connection with a hand-built CONNECT (clean session, keep-alive 0): cheaper
 * for this process than an mqtt.js client. Resolves with the socket once the CONNACK accepts.
 */
export const rawConnect = (port: number, clientId: string, username?: string, password?: string): Promise<net.Socket> =>
  connectAccepted(port, { clientId, username, password }, 10_000, HOST)

/**
 * Subscribes an accepted raw connection to `filters` at QoS 1; resolves at its SUBACK (what
 * else the server sends is read and dropped, then and later). Rejects if no SUBACK comes.
 */
export function rawSubscribe (s: net.Socket, filters: string[], timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const read = packetReader()
    let done = false
    const timer = setTimeout(() => { done = true; reject(new Error(`no SUBACK within ${timeoutMs} ms`)) }, timeoutMs)
    s.on('data', (chunk: Buffer) => {
      if (done || !read(chunk).some((p) => p.type === 'suback')) return
      done = true
      clearTimeout(timer)
      resolve()
    })
    s.write(subscribePacket(filters, 1, 1))
  })
}

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

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
