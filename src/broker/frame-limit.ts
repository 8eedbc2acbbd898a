// aedes has no maximum packet size: a client could declare a 256 MB PUBLISH and the parser
// would buffer it. This reads only the MQTT fixed headers as bytes go by and tells when a
// packet declares more than the limit, before its body arrives. Pure: tested with bytes.

/** The largest packet we accept. A send at its limits is 4,096 + 3 × 1,024 characters; an
 *  emoji in ASCII-only JSON (PHP's and Python's default) is two \uXXXX escapes, 12 bytes, so
 *  such a send is about 86 KB with its keys, cid and topic. */
export const MAX_PACKET_BYTES = 128 * 1024

export class FrameLimit {
  /** bytes of the current packet's body still to skip */
  private skip = 0
  /** reading the remaining-length varint: its value so far and the byte index */
  private inHeader = false
  private len = 0
  private lenBytes = 0

  constructor (private readonly maxBytes: number = MAX_PACKET_BYTES) {}

  /** Feeds bytes; returns an error sentence when a packet is too big or malformed. */
  feed (chunk: Uint8Array): string | null {
    let i = 0
    while (i < chunk.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - i)
        this.skip -= n
        i += n
        continue
      }
      if (!this.inHeader) {
        // first byte: packet type and flags
        this.inHeader = true
        this.len = 0
        this.lenBytes = 0
        i++
        continue
      }
      const b = chunk[i++]!
      this.len += (b & 0x7f) * 128 ** this.lenBytes
      this.lenBytes++
      if ((b & 0x80) !== 0) {
        if (this.lenBytes === 4) return 'malformed remaining length'
        continue
      }
      // [MQTT-2.2.3] remaining length complete
      if (this.len > this.maxBytes) return `packet of ${this.len} bytes is over the ${this.maxBytes}-byte limit`
      this.inHeader = false
      this.skip = this.len
    }
    return null
  }
}
