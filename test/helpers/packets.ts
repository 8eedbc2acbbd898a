// More hand-written MQTT packets, for tests that need bytes no client library sends in that
// order or form (a SUBSCRIBE burst behind the CONNECT, repeated filters, broken UTF-8).
import { remainingLength } from './mqtt.ts'

/** A length-prefixed string field [MQTT-1.5.3], from raw bytes so a test can break them. */
export function field (bytes: Buffer | string): Buffer {
  const b = Buffer.from(bytes)
  const len = Buffer.alloc(2)
  len.writeUInt16BE(b.length)
  return Buffer.concat([len, b])
}

/** A SUBSCRIBE with packet id `id` asking each filter at `qos` [MQTT-3.8]. */
export function subscribePacket (filters: Array<Buffer | string>, id = 1, qos: 0 | 1 = 1): Buffer {
  const idBytes = Buffer.from([id >> 8, id & 0xff])
  const body = Buffer.concat([idBytes, ...filters.map((f) => Buffer.concat([field(f), Buffer.from([qos])]))])
  return Buffer.concat([Buffer.from([0x82]), remainingLength(body.length), body])
}

/** A PUBLISH at QoS 1 with packet id `id`, its topic given as raw bytes. */
export function publishPacketBytes (topic: Buffer | string, payload: Buffer | string, id = 1): Buffer {
  const body = Buffer.concat([field(topic), Buffer.from([id >> 8, id & 0xff]), Buffer.from(payload)])
  return Buffer.concat([Buffer.from([0x32]), remainingLength(body.length), body])
}

export interface Packet { type: number, flags: number, body: Buffer }

/** Splits what a server sent into packets (a trailing partial packet is left out). */
export function packets (bytes: Buffer): Packet[] {
  const out: Packet[] = []
  let i = 0
  while (i < bytes.length) {
    let len = 0
    let mul = 1
    let j = i + 1
    let b: number
    do {
      if (j >= bytes.length) return out
      b = bytes[j++]!
      len += (b & 0x7f) * mul
      mul *= 128
    } while ((b & 0x80) !== 0)
    if (j + len > bytes.length) return out
    out.push({ type: bytes[i]! >> 4, flags: bytes[i]! & 0x0f, body: bytes.subarray(j, j + len) })
    i = j + len
  }
  return out
}

/** The topic and payload of a PUBLISH packet. */
export function publishOf (p: Packet): { topic: string, payload: Buffer } {
  const tlen = p.body.readUInt16BE(0)
  const qos = (p.flags >> 1) & 3
  return { topic: p.body.subarray(2, 2 + tlen).toString('utf8'), payload: p.body.subarray(2 + tlen + (qos > 0 ? 2 : 0)) }
}

export const SUBACK = 9
export const PUBLISH = 3
