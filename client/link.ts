// One MQTT 3.1.1 connection over WebSocket for the browser client: what client/index.ts needs
// (CONNECT with a token, SUBSCRIBE with its SUBACK, PUBLISH at QoS 1, incoming messages, one
// `onClose` however the connection ends), over the packets of ./mqtt-codec.ts (which says why
// they are ours). A PINGREQ that got no answer by the next one marks the connection dead, and
// it is closed: a sleeping laptop or a changed network leaves no clean close behind. Pings go
// every half keep-alive period, so a background tab, whose timers the browser slows to one a
// minute, still pings within the server's limit (1.5 periods) and is not taken for dead.
import { type Bytes, connectPacket, DISCONNECT, packetReader, PINGREQ, publishPacket, pubackPacket, subscribePacket, unsubscribePacket } from './mqtt-codec.ts'

export interface LinkOptions {
  url: string
  clientId: string
  username: string
  password: string
  /** seconds */
  keepAlive: number
  connectTimeoutMs: number
  onMessage: (topic: string, payload: Uint8Array) => void
  /** once, whatever ended the connection (after it was open) */
  onClose: () => void
}

export interface Link {
  /** true once the server granted every topic (SUBACK); false if refused or the link closed */
  subscribe: (topics: string[]) => Promise<boolean>
  /** no answer awaited (the UNSUBACK is not read): a topic left is simply no longer delivered */
  unsubscribe: (topics: string[]) => void
  /** at QoS 1: the server answers client requests on the `ack` topic, not with the PUBACK */
  publish: (topic: string, body: string) => void
  close: () => void
}

/** Why a connection was not opened: `refused` (CONNACK said no: bad or expired token) or `unreachable`. */
export class LinkError extends Error {
  constructor (readonly code: 'refused' | 'unreachable', message: string) { super(message) }
}

/** CONNACK return codes (§3.2.2.3). */
const REFUSALS: Record<number, string> = { 1: 'unacceptable protocol version', 2: 'identifier rejected', 3: 'server unavailable', 4: 'bad user name or password', 5: 'not authorized' }

export function openLink (o: LinkOptions): Promise<Link> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(o.url, ['mqtt'])
    ws.binaryType = 'arraybuffer'
    const read = packetReader()
    const subacks = new Map<number, (granted: number[] | null) => void>()
    let nextId = 0
    const id = (): number => { nextId = nextId % 0xffff + 1; return nextId }
    let open = false
    let ended = false
    let lastHeard = Date.now()
    let pingSentAt = 0
    let pinger: ReturnType<typeof setInterval> | undefined

    const send = (bytes: Bytes): void => {
      if (!ended && ws.readyState === WebSocket.OPEN) ws.send(bytes)
    }
    const end = (why: LinkError = new LinkError('unreachable', 'could not connect')): void => {
      if (ended) return
      ended = true
      clearTimeout(timer)
      clearInterval(pinger)
      for (const done of subacks.values()) done(null)
      subacks.clear()
      try { ws.close() } catch {}
      if (open) o.onClose()
      else reject(why)
    }
    const timer = setTimeout(() => end(), o.connectTimeoutMs)

    const link: Link = {
      subscribe: (topics) => new Promise((done) => {
        if (ended) return done(false)
        if (topics.length === 0) return done(true)
        const n = id()
        subacks.set(n, (granted) => done(granted !== null && granted.length === topics.length && granted.every((g) => g < 0x80)))
        send(subscribePacket(n, topics))
      }),
      unsubscribe: (topics) => { if (!ended) send(unsubscribePacket(id(), topics)) },
      publish: (topic, body) => send(publishPacket(id(), topic, body)),
      close: () => {
        send(DISCONNECT)
        end()
      }
    }

    ws.onopen = () => send(connectPacket({ clientId: o.clientId, username: o.username, password: o.password, keepAlive: o.keepAlive }))
    ws.onerror = () => end()
    ws.onclose = () => end()
    ws.onmessage = (e: MessageEvent<ArrayBuffer>) => {
      if (ended) return
      lastHeard = Date.now()
      let packets
      try {
        packets = read(new Uint8Array(e.data))
      } catch {
        return end()
      }
      for (const p of packets) {
        if (ended) return
        if (p.type === 'connack') {
          if (p.returnCode !== 0) return end(new LinkError('refused', REFUSALS[p.returnCode] ?? `refused (${p.returnCode})`))
          open = true
          clearTimeout(timer)
          pinger = setInterval(() => {
            if (pingSentAt > lastHeard) return end()
            pingSentAt = Date.now()
            send(PINGREQ)
          }, o.keepAlive * 500)
          resolve(link)
        } else if (p.type === 'suback') {
          subacks.get(p.id)?.(p.granted)
          subacks.delete(p.id)
        } else if (p.type === 'publish') {
          if (p.id !== null) send(pubackPacket(p.id))
          o.onMessage(p.topic, p.payload)
        }
      }
    }
  })
}
