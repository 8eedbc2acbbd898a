// MQTT at the byte level and small client helpers, for the tests and the benches: raw
// connections that can write anything (including what no client library would send), a
// cheap accepted connection for idle-memory counts, and the answers mqtt.js reports for
// refused CONNECTs and SUBSCRIBEs.
import net from 'node:net'
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import { encodeLength } from '../../client/mqtt-codec.ts'

/** [MQTT-2.2.3] the remaining-length varint (the browser client's encoder, as bytes). */
export function remainingLength (n: number): Buffer {
  return Buffer.from(encodeLength(n))
}

/** A UTF-8 string with its 2-byte length [MQTT-1.5.3]. */
function str (s: string): Buffer {
  const b = Buffer.from(s, 'utf8')
  const len = Buffer.alloc(2)
  len.writeUInt16BE(b.length)
  return Buffer.concat([len, b])
}

export interface RawConnect {
  protocolName?: string
  protocolLevel?: number
  clientId?: string
  username?: string
  password?: string
  keepaliveSeconds?: number
}

/** A CONNECT packet, clean session, written out by hand so a test can break any part of it. */
export function connectPacket (c: RawConnect = {}): Buffer {
  let flags = 0x02
  if (c.username !== undefined) flags |= 0x80
  if (c.password !== undefined) flags |= 0x40
  const keepalive = Buffer.alloc(2)
  keepalive.writeUInt16BE(c.keepaliveSeconds ?? 30)
  const body = Buffer.concat([
    str(c.protocolName ?? 'MQTT'),
    Buffer.from([c.protocolLevel ?? 4, flags]),
    keepalive,
    str(c.clientId ?? `raw-${Math.random().toString(36).slice(2)}`),
    c.username === undefined ? Buffer.alloc(0) : str(c.username),
    c.password === undefined ? Buffer.alloc(0) : str(c.password)
  ])
  return Buffer.concat([Buffer.from([0x10]), remainingLength(body.length), body])
}

/** A PUBLISH packet (QoS 0, or QoS 1 with packet id 1). */
export function publishPacket (topic: string, payload: Buffer | string, qos: 0 | 1 = 0): Buffer {
  const id = qos === 0 ? Buffer.alloc(0) : Buffer.from([0x00, 0x01])
  const body = Buffer.concat([str(topic), id, Buffer.from(payload)])
  return Buffer.concat([Buffer.from([0x30 | (qos << 1)]), remainingLength(body.length), body])
}

/** The size of the remaining length of a PUBLISH to `topic` at `qos` with `payloadBytes`. */
export const publishRemainingLength = (topic: string, payloadBytes: number, qos: 0 | 1): number =>
  2 + Buffer.byteLength(topic) + (qos === 0 ? 0 : 2) + payloadBytes

/** CONNACK, accepted [MQTT-3.2]. */
export const CONNACK_ACCEPTED = Buffer.from([0x20, 0x02, 0x00, 0x00])

/**
 * A TCP connection with a hand-built CONNECT (clean session; keep-alive 0 unless given),
 * far cheaper for the connecting process than an mqtt.js client. Resolves with the socket
 * once the CONNACK accepts it; rejects on a refusal, a close, or no CONNACK in `timeoutMs`.
 */
export function connectAccepted (port: number, c: RawConnect, timeoutMs = 10_000, host = '127.0.0.1'): Promise<net.Socket> {
  const packet = connectPacket({ keepaliveSeconds: 0, ...c })
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port })
    let got = Buffer.alloc(0)
    const timer = setTimeout(() => fail(new Error(`no CONNACK within ${timeoutMs} ms`)), timeoutMs)
    function fail (err: Error): void {
      clearTimeout(timer)
      s.destroy()
      reject(err)
    }
    s.once('error', fail)
    s.once('close', () => fail(new Error('closed before CONNACK')))
    s.once('connect', () => s.write(packet))
    const onData = (chunk: Buffer): void => {
      got = Buffer.concat([got, chunk])
      if (got.length < CONNACK_ACCEPTED.length) return
      clearTimeout(timer)
      s.removeListener('data', onData)
      s.removeAllListeners('close')
      s.removeListener('error', fail)
      // From here on, errors of an idle socket (reset at shutdown) are expected.
      s.on('error', () => {})
      if (!got.subarray(0, CONNACK_ACCEPTED.length).equals(CONNACK_ACCEPTED)) {
        s.destroy()
        reject(new Error(`CONNACK refused: ${got.subarray(0, 4).toString('hex')}`))
        return
      }
      resolve(s)
    }
    s.on('data', onData)
  })
}

/** A TCP connection to the MQTT port that records what the server sends and when it closes. */
export class RawConnection {
  readonly socket: net.Socket
  private chunks: Buffer[] = []
  private listeners: Array<() => void> = []
  isClosed = false

  private constructor (socket: net.Socket) {
    this.socket = socket
    socket.on('data', (b) => { this.chunks.push(b); this.wake() })
    socket.on('error', () => {}) // a reset by the server is one of the expected outcomes
    socket.on('close', () => { this.isClosed = true; this.wake() })
  }

  static async open (port: number): Promise<RawConnection> {
    const socket = net.connect(port, '127.0.0.1')
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve)
      socket.once('error', reject)
    })
    return new RawConnection(socket)
  }

  get received (): Buffer {
    return Buffer.concat(this.chunks)
  }

  write (bytes: Buffer | string): void {
    this.socket.write(bytes)
  }

  /** Resolves when `check` holds, re-checked on every byte received and on close. */
  private async until (check: () => boolean, what: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!check()) {
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`timed out waiting for ${what}; received ${this.received.toString('hex')}, closed: ${this.isClosed}`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.listeners.push(() => { clearTimeout(timer); resolve() })
      })
    }
  }

  /** Waits until the server has closed the connection. */
  closed (timeoutMs = 5000): Promise<void> {
    return this.until(() => this.isClosed, 'the server to close the connection', timeoutMs)
  }

  /** Waits for at least `n` bytes from the server. */
  bytes (n: number, timeoutMs = 5000): Promise<void> {
    return this.until(() => this.received.length >= n || this.isClosed, `${n} bytes`, timeoutMs)
  }

  destroy (): void {
    this.socket.destroy()
  }

  private wake (): void {
    for (const l of this.listeners.splice(0)) l()
  }
}

/** Opens a raw connection that is destroyed when the test ends. */
export async function rawConnection (t: { after: (fn: () => void) => void }, port: number): Promise<RawConnection> {
  const c = await RawConnection.open(port)
  t.after(() => c.destroy())
  return c
}

/**
 * The CONNACK return code a CONNECT with these options gets: 0 when accepted (the client is
 * then closed again). mqtt.js rejects a refused connect with an error whose `code` is the code.
 */
export async function connackCode (url: string, opts: IClientOptions): Promise<number> {
  let client: MqttClient
  try {
    client = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5000, ...opts })
  } catch (err) {
    const code = (err as { code?: unknown }).code
    if (typeof code !== 'number') throw err
    return code
  }
  await client.endAsync(true)
  return 0
}

/**
 * The SUBACK return codes for `filters` (each asked at `qos`), one per filter, in order.
 * mqtt.js 5 rejects a SUBSCRIBE when any code is a failure (0x80); the SUBACK rides on the error.
 */
export async function subackCodes (client: MqttClient, filters: string[], qos: 0 | 1 | 2 = 1): Promise<number[]> {
  const asked = Object.fromEntries(filters.map((f) => [f, { qos }]))
  try {
    const granted = await client.subscribeAsync(asked)
    return filters.map((f) => granted.find((g) => g.topic === f)!.qos)
  } catch (err) {
    const packet = (err as { packet?: { granted?: number[] } }).packet
    if (packet?.granted === undefined) throw err
    return packet.granted
  }
}

/** Resolves when the client's connection is closed (by the server). */
export function closedBy (client: MqttClient, timeoutMs = 5000): Promise<void> {
  if (!client.connected) return Promise.resolve()
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timed out waiting for the server to close the connection')), timeoutMs).unref()
    client.once('close', () => { clearTimeout(timer); resolve() })
  })
}
