// The load generator's small tools: raw MQTT connections (for idle-connection counts), a pool
// that runs async work at a bounded concurrency, and sleep.
import type net from 'node:net'
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
    let got = Buffer.alloc(0)
    let done = false
    const timer = setTimeout(() => { done = true; reject(new Error(`no SUBACK within ${timeoutMs} ms`)) }, timeoutMs)
    s.on('data', (chunk: Buffer) => {
      if (done) return
      got = Buffer.concat([got, chunk])
      // Packets: a type byte, a variable-length remaining length [MQTT-2.2.3], the rest.
      for (;;) {
        let len = 0
        let mul = 1
        let i = 1
        for (; i < got.length && i <= 4; i++) {
          len += (got[i]! & 0x7f) * mul
          mul *= 128
          if ((got[i]! & 0x80) === 0) break
        }
        if (i >= got.length || got.length < i + 1 + len) return
        const type = got[0]!
        got = got.subarray(i + 1 + len)
        if (type === 0x90) {
          done = true
          clearTimeout(timer)
          resolve()
          return
        }
      }
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
