// The few MQTT 3.1.1 packets the browser client speaks (OASIS MQTT 3.1.1, §2–§3), as bytes:
// pure functions, tested with literal tables (test/client-logic.test.ts), no I/O.
//
// Why our own and not a library: mqtt.js, the well-kept one, is about 100 KB gzipped in a
// browser bundle (Buffer, stream and event polyfills), and this is what every page of a site
// loads before its visitor opens the chat. The small browser-first client (u8-mqtt 0.6.7) lost
// messages against our server: its reader keeps the length of the last fragmented packet and
// waits for that many bytes before reading the next one, and its QoS 0 publish throws. What the
// client needs is small: CONNECT, SUBSCRIBE, PUBLISH at QoS 1, PUBACK, PINGREQ, DISCONNECT out;
// CONNACK, SUBACK, PUBLISH, PUBACK, PINGRESP in.

/** bytes to send (on a plain ArrayBuffer, as WebSocket.send takes them) */
export type Bytes = Uint8Array<ArrayBuffer>

const enc = new TextEncoder()
const dec = new TextDecoder()

/** The remaining length (§2.2.3): 7 bits a byte, low first, at most 4 bytes. */
export function encodeLength (n: number): number[] {
  const out: number[] = []
  do {
    let b = n % 128
    n = Math.floor(n / 128)
    if (n > 0) b |= 0x80
    out.push(b)
  } while (n > 0)
  return out
}

function str (s: string | Uint8Array): number[] {
  const b = typeof s === 'string' ? enc.encode(s) : s
  return [b.length >> 8, b.length & 0xff, ...b]
}

function packet (first: number, body: ArrayLike<number>): Bytes {
  const len = encodeLength(body.length)
  const out = new Uint8Array(1 + len.length + body.length)
  out[0] = first
  out.set(len, 1)
  out.set(body, 1 + len.length)
  return out
}

export interface ConnectFields { clientId: string, username: string, password: string, keepAlive: number }

/** CONNECT with a clean session (§3.1): protocol level 4, user name and password. */
export function connectPacket (c: ConnectFields): Bytes {
  const flags = 0x80 | 0x40 | 0x02
  return packet(0x10, [...str('MQTT'), 4, flags, c.keepAlive >> 8, c.keepAlive & 0xff,
    ...str(c.clientId), ...str(c.username), ...str(c.password)])
}

/** SUBSCRIBE (§3.8): every topic at QoS 1. */
export function subscribePacket (id: number, topics: string[]): Bytes {
  return packet(0x82, [id >> 8, id & 0xff, ...topics.flatMap((t) => [...str(t), 1])])
}

/** PUBLISH at QoS 1 (§3.3), not retained. */
export function publishPacket (id: number, topic: string, payload: string): Bytes {
  const body = enc.encode(payload)
  const head = [...str(topic), id >> 8, id & 0xff]
  const all = new Uint8Array(head.length + body.length)
  all.set(head)
  all.set(body, head.length)
  return packet(0x32, all)
}

export const pubackPacket = (id: number): Bytes => packet(0x40, [id >> 8, id & 0xff])
export const PINGREQ = new Uint8Array([0xc0, 0])
export function unsubscribePacket (id: number, topics: string[]): Bytes {
  return packet(0xa2, [id >> 8, id & 0xff, ...topics.flatMap((t) => [...str(t)])])
}

export const DISCONNECT = new Uint8Array([0xe0, 0])

export type Incoming =
  | { type: 'connack', returnCode: number }
  | { type: 'suback', id: number, granted: number[] }
  | { type: 'publish', topic: string, payload: Uint8Array, qos: number, id: number | null, retain: boolean }
  | { type: 'puback', id: number }
  | { type: 'pingresp' }
  | { type: 'other', first: number }

/** One packet's fixed header byte and body. Throws on a body too short for its type. */
export function decodePacket (first: number, body: Uint8Array): Incoming {
  const u16 = (i: number): number => {
    if (i + 2 > body.length) throw new Error('malformed packet')
    return (body[i]! << 8) | body[i + 1]!
  }
  switch (first >> 4) {
    case 2: return { type: 'connack', returnCode: body[1] ?? 0xff }
    case 3: {
      const qos = (first >> 1) & 3
      const len = u16(0)
      const topic = dec.decode(body.subarray(2, 2 + len))
      const id = qos > 0 ? u16(2 + len) : null
      return { type: 'publish', topic, qos, id, retain: (first & 1) === 1, payload: body.subarray(2 + len + (qos > 0 ? 2 : 0)) }
    }
    case 4: return { type: 'puback', id: u16(0) }
    case 9: return { type: 'suback', id: u16(0), granted: [...body.subarray(2)] }
    case 13: return { type: 'pingresp' }
    default: return { type: 'other', first }
  }
}

/**
 * A reader for a stream of bytes cut anywhere (a packet over several WebSocket frames, or
 * several packets in one): each call takes the next chunk and returns the packets it completes.
 */
export function packetReader (): (chunk: Uint8Array) => Incoming[] {
  let buf: Uint8Array = new Uint8Array(0)
  return (chunk) => {
    if (buf.length === 0) buf = chunk
    else {
      const joined = new Uint8Array(buf.length + chunk.length)
      joined.set(buf)
      joined.set(chunk, buf.length)
      buf = joined
    }
    const out: Incoming[] = []
    for (;;) {
      // the remaining length: up to 4 bytes after the first
      let len = 0
      let i = 1
      let mul = 1
      for (;;) {
        if (i >= buf.length) return keep(out)
        const b = buf[i++]!
        len += (b & 0x7f) * mul
        mul *= 128
        if ((b & 0x80) === 0) break
        if (i > 4) throw new Error('malformed remaining length')
      }
      if (buf.length < i + len) return keep(out)
      out.push(decodePacket(buf[0]!, buf.subarray(i, i + len)))
      buf = buf.subarray(i + len)
    }
  }
  function keep (out: Incoming[]): Incoming[] {
    // what is left is copied, so a kept view never pins a large earlier chunk
    if (buf.length > 0 && buf.byteOffset > 0) buf = buf.slice()
    return out
  }
}
