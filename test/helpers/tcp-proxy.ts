// A TCP proxy of the test's own between mqchat and a server it needs (PostgreSQL, Redis):
// `cut()` drops every connection and refuses new ones, `restore()` lets them through again.
// Fault tests cut the path; the machine's shared servers are never stopped.
import net, { type AddressInfo } from 'node:net'
import type { TestContext } from 'node:test'

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
      client.pipe(upstream)
      upstream.pipe(client)
    })
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
