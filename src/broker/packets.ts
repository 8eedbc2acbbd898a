// What the protocol asks of a connection's packets that aedes (with mqtt-packet) does not do.
// Both reach into the libraries' internals, which no option exposes; test/strictness.test.ts
// and test/subscriptions.test.ts fail if an upgrade moves them.
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
