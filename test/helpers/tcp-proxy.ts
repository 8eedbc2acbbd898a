// A TCP proxy of the test's own between mqchat and a server it needs (PostgreSQL, Redis), or
// between a browser and mqchat: `cut()` drops every connection and refuses new ones,
// `restore()` lets them through again, `trap()` cuts on one chosen chunk, `hold()` keeps one
// back (and what follows it on its way) until `release()`.
// Fault tests cut the path; the machine's shared servers are never stopped.
import net, { type AddressInfo } from 'node:net'
import type { TestContext } from 'node:test'

interface Pair { up: string, stalled: boolean }

export class TcpProxy {
  private readonly server: net.Server
  private readonly sockets = new Set<net.Socket>()
  private open = true
  port = 0

  constructor (private targetHost = '127.0.0.1', private targetPort = 0) {
    this.server = net.createServer((client) => {
      if (!this.open) { client.destroy(); return }
      const upstream = net.connect(this.targetPort, this.targetHost)
      for (const s of [client, upstream]) {
        this.sockets.add(s)
        s.on('close', () => this.sockets.delete(s))
        s.on('error', () => { client.destroy(); upstream.destroy() })
      }
      client.on('close', () => upstream.destroy())
      upstream.on('close', () => client.destroy())
      const pair: Pair = { up: '', stalled: false }
      this.pairs.add(pair)
      client.on('close', () => this.pairs.delete(pair))
      this.forward(client, upstream, 'up', pair)
      this.forward(upstream, client, 'down', pair)
    })
  }

  /** set by trap(): the chunk that cuts the path instead of going through */
  private trapped: ((chunk: Buffer, direction: 'up' | 'down') => boolean) | null = null

  private readonly pairs = new Set<Pair>()
  /** set by hold(): the chunk that waits, and the ways (sockets read from) held back since */
  private holding: ((chunk: Buffer, direction: 'up' | 'down') => boolean) | null = null
  private readonly heldFrom = new Set<net.Socket>()
  private readonly held: Array<{ to: net.Socket, chunk: Buffer | null }> = []

  private forward (from: net.Socket, to: net.Socket, direction: 'up' | 'down', pair: Pair): void {
    from.on('data', (chunk: Buffer) => {
      if (direction === 'up' && pair.up.length < 4096) pair.up += chunk.toString('latin1')
      // a stalled connection stays open, and its answers never arrive
      if (direction === 'down' && pair.stalled) return
      // Everything after a held chunk on its way waits behind it: the bytes keep their order.
      if (this.heldFrom.has(from) || this.holding?.(chunk, direction) === true) {
        this.holding = null
        this.heldFrom.add(from)
        this.held.push({ to, chunk })
        return
      }
      if (this.trapped?.(chunk, direction) === true) {
        this.trapped = null
        this.cut()
        return
      }
      if (!to.write(chunk)) {
        from.pause()
        to.once('drain', () => from.resume())
      }
    })
    from.on('end', () => { if (this.heldFrom.has(from)) this.held.push({ to, chunk: null }); else to.end() })
  }

  /**
   * Connections whose traffic so far toward the target matches go silent: they stay open,
   * and nothing more comes back on them (a half-dead link that no error reports). Answers how
   * many were stalled.
   */
  stall (match: (sentSoFar: string) => boolean): number {
    let n = 0
    for (const p of this.pairs) {
      if (match(p.up)) { p.stalled = true; n++ }
    }
    return n
  }

  /**
   * The first chunk that matches (`up`: toward the target) is not forwarded: the path is cut
   * there, as by cut(). It lets a test lose one exact packet, e.g. an answer already sent.
   */
  trap (match: (chunk: Buffer, direction: 'up' | 'down') => boolean): void {
    this.trapped = match
  }

  /**
   * The first chunk that matches waits in the proxy, and with it everything after it on the same
   * way, until release(): it lets a test make one answer come after another (e.g. an MQTT answer
   * after a REST one) without cutting anything.
   */
  hold (match: (chunk: Buffer, direction: 'up' | 'down') => boolean): void {
    this.holding = match
  }

  /** Whether a chunk is being held back now. */
  get holds (): boolean {
    return this.held.length > 0
  }

  /** What hold() kept back goes on, in order. */
  release (): void {
    this.holding = null
    this.heldFrom.clear()
    for (const { to, chunk } of this.held.splice(0)) {
      if (to.destroyed) continue
      if (chunk === null) to.end(); else to.write(chunk)
    }
  }

  /** Where it forwards to (before start, when not given to the constructor). */
  target (host: string, port: number): this {
    this.targetHost = host
    this.targetPort = port
    return this
  }

  async start (t: TestContext): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve))
    this.port = (this.server.address() as AddressInfo).port
    t.after(() => { this.cut(); return new Promise<void>((resolve) => this.server.close(() => resolve())) })
    return this
  }

  /** Every connection through the proxy is reset, and new ones are refused until restore(). */
  cut (): void {
    this.open = false
    for (const s of this.sockets) s.destroy()
  }

  restore (): void {
    this.open = true
  }

  /** Connections open through the proxy now. */
  get connections (): number {
    return this.sockets.size / 2
  }
}
