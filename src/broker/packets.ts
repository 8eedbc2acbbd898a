// What the protocol asks of a connection's packets that aedes (with mqtt-packet) does not do,
// and the direct write of a user's own packets (writePublish, at the end). They reach into
// the libraries' internals, which no option exposes; test/strictness.test.ts and
// test/subscriptions.test.ts fail if an upgrade moves them.
//
// - [MQTT-1.5.3-1] [MQTT-1.5.3-2] a string (topic, topic filter, client id, username) that is
//   not well-formed UTF-8 or holds U+0000 closes the connection. mqtt-packet decodes strings
//   with replacement (bad bytes become U+FFFD), so the check runs on the bytes, in the parser.
// - [MQTT-3.9.3-1] a SUBACK has one return code per topic filter of the SUBSCRIBE. aedes
//   merges repeated filters of one packet (the last one wins, as [MQTT-3.8.4-3] says) and then
//   answers one code per distinct filter; the codes are spread back over the filters here.
import { isUtf8 } from 'node:buffer'
import { createRequire } from 'node:module'
import type { Client } from 'aedes'

interface BufferList { slice (start: number, end: number): Buffer }
type ParsedPacket = { cmd: string, messageId?: number, subscriptions?: Array<{ topic: string }> }
type FilterClient = Client & { mqFilters?: Map<number, string[]> }
interface MqttParser {
  _pos: number
  _list: BufferList
  /** set by aedes: the parser's connection */
  client: FilterClient
  _parseString (this: MqttParser): string | null
  prependListener (event: 'packet', fn: (this: MqttParser, packet: ParsedPacket) => void): void
}
type SubAck = { cmd: string, messageId?: number, granted?: number[] }
type Conn = { client?: FilterClient }

/** Hooks one new connection's parser; call before its first byte is read. */
export function strictPackets (client: Client): void {
  const parser = (client as unknown as { _parser: MqttParser })._parser
  // One function each for every connection (issue 17: a closure each held 200 bytes): the
  // parser is `this`, and aedes keeps the connection's client on it.
  libraryParseString ??= parser._parseString
  parser._parseString = strictParseString
  parser.prependListener('packet', rememberRepeatedFilters)
}

/** mqtt-packet's own, the same for every parser (its prototype's). */
let libraryParseString: MqttParser['_parseString'] | undefined

function strictParseString (this: MqttParser): string | null {
  const start = this._pos
  const s = libraryParseString!.call(this)
  if (s === null) return null
  // 2 bytes of length, then the string: the parser reports null as a malformed packet and
  // the connection is closed.
  if (s.includes('\u0000') || (s.includes('\ufffd') && !isUtf8(this._list.slice(start + 2, this._pos)))) return null
  return s
}

function rememberRepeatedFilters (this: MqttParser, packet: ParsedPacket): void {
  if (packet.cmd !== 'subscribe' || packet.messageId === undefined || packet.subscriptions === undefined) return
  const filters = packet.subscriptions.map((s) => s.topic)
  if (new Set(filters).size === filters.length) return
  const c = this.client
  c.mqFilters ??= new Map()
  c.mqFilters.set(packet.messageId, filters)
}

// aedes writes every packet through mqtt-packet's `writeToStream`, read from the module
// object at each call; the one aedes itself loads is wrapped, once.
const mqttPacket = createRequire(createRequire(import.meta.url).resolve('aedes'))('mqtt-packet') as {
  writeToStream: (packet: SubAck, stream: Conn, opts?: unknown) => boolean
  mqchatWrapped?: true
}
if (mqttPacket.mqchatWrapped !== true) {
  const writeToStream = mqttPacket.writeToStream
  mqttPacket.writeToStream = function (packet, stream, opts) {
    const filters = packet.cmd === 'suback' && packet.messageId !== undefined ? stream.client?.mqFilters?.get(packet.messageId) : undefined
    if (filters !== undefined && packet.granted !== undefined) {
      stream.client!.mqFilters!.delete(packet.messageId!)
      // aedes's codes follow the distinct filters in the order each first appears.
      const index = new Map<string, number>()
      for (const f of filters) if (!index.has(f)) index.set(f, index.size)
      const granted = packet.granted
      packet = { ...packet, granted: filters.map((f) => granted[index.get(f)!]!) }
    }
    return writeToStream.call(this, packet, stream, opts)
  }
  mqttPacket.mqchatWrapped = true
}

/** What writePublish needs of aedes's client (its own fields, not all in its types). */
interface Deliverable {
  connected: boolean
  connecting?: boolean
  errored?: boolean
  _nextId: number
  conn: Conn
  waitForDrain (done: () => void): void
}

/**
 * A PUBLISH to one clean-session connection, written now, as aedes's QoS 1 delivery ends
 * (its next message id, its write, its wait for a full socket to drain) without the
 * setImmediate aedes puts before each delivery: aedes writes each packet in a tick of its
 * own, so a socket gets one writev per packet; written here, every packet of a tick shares
 * the socket's one writev (mqtt-packet corks it until the next tick). Measured on the chat
 * load: 3.6 write calls a message before, 2.0 after. Sessions are always clean (auth.ts): aedes keeps
 * nothing of a clean session's QoS 1 packets, so nothing is skipped but the wait. `qos` is
 * the connection's subscription QoS, to which the packet is downgraded, as aedes does.
 */
export function writePublish (client: Client, topic: string, payload: Buffer, qos: number, written?: () => void): void {
  const c = client as unknown as Deliverable
  if (!(c.connected || c.connecting === true) || c.errored === true) return written?.()
  const packet: { cmd: 'publish', topic: string, payload: Buffer, qos: number, retain: false, dup: false, messageId?: number } =
    { cmd: 'publish', topic, payload, qos: qos >= 1 ? 1 : 0, retain: false, dup: false }
  if (packet.qos === 1) {
    packet.messageId = c._nextId
    c._nextId = c._nextId >= 65535 ? 1 : c._nextId + 1
  }
  const ok = mqttPacket.writeToStream(packet as unknown as SubAck, c.conn)
  if (written === undefined) return
  // As aedes: `written` runs in a later tick, once the corked packet is out, for it may
  // close the connection (an unstored send's answer, then the close). The write may have
  // failed the connection (aedes then flags it errored): read the flag again.
  if (!ok && !(c as { errored?: boolean }).errored) c.waitForDrain(written)
  else setImmediate(written)
}
