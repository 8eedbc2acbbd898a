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

  reset (): void {
    this.skip = 0
    this.inHeader = false
    this.len = 0
    this.lenBytes = 0
  }

  copy (): FrameLimit {
    const c = new FrameLimit(this.maxBytes)
    c.skip = this.skip
    c.inHeader = this.inHeader
    c.len = this.len
    c.lenBytes = this.lenBytes
    return c
  }

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
      // A shift, not `* 128 ** n`: the fields stay small integers, not a boxed double each
      // (at most 4 bytes of 7 bits: 2^28 - 1 fits).
      this.len += (b & 0x7f) << (7 * this.lenBytes)
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

  /** At a packet boundary: nothing of a packet is pending, as when the connection opened. */
  get between (): boolean {
    return !this.inHeader && this.skip === 0
  }
}

/** What checks a connection's chunk when it is between packets: its state is not kept. */
const atBoundary = new FrameLimit()

/**
 * Feeds a connection's chunk: `holder.mqFrame` keeps the limit's state only while a packet is
 * pending across chunks. An idle connection sits between packets, and keeps none (issue 17).
 */
export function frameCheck (holder: { mqFrame?: FrameLimit }, chunk: Uint8Array): string | null {
  const limit = holder.mqFrame ?? atBoundary
  const problem = limit.feed(chunk)
  if (problem !== null || limit.between) {
    holder.mqFrame = undefined
    if (limit === atBoundary) atBoundary.reset()
  } else if (limit === atBoundary) {
    holder.mqFrame = atBoundary.copy()
    atBoundary.reset()
  }
  return problem
}
