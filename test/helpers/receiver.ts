// A real callback receiver on 127.0.0.1 whose answer a test can change mid-way (as svix's
// TestReceiver): it records every request, and answers with `respond`.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { TestContext } from 'node:test'
import { waitFor } from './wait.ts'

export interface Received {
  method: string
  path: string
  headers: http.IncomingHttpHeaders
  body: string
  json: any
  at: number
}

export type Responder = (req: Received, res: http.ServerResponse) => void | Promise<void>

export const answer = (status: number, body = '', headers: Record<string, string> = {}): Responder => (_req, res) => {
  res.writeHead(status, headers)
  res.end(body)
}

export class Receiver {
  readonly requests: Received[] = []
  respond: Responder = answer(200, 'ok')
  readonly server: http.Server
  url = ''

  constructor () {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c) => chunks.push(c))
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8')
        let json: unknown = null
        try { json = JSON.parse(body) } catch {}
        const r: Received = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, json, at: Date.now() }
        this.requests.push(r)
        void Promise.resolve(this.respond(r, res)).catch(() => res.destroy())
      })
    })
  }

  async start (t: TestContext, path = '/hook'): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve))
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`
    t.after(() => new Promise<void>((resolve) => { this.server.closeAllConnections(); this.server.close(() => resolve()) }))
    return this
  }

  /** Waits until `n` requests have arrived. */
  async count (n: number, timeoutMs = 10_000): Promise<Received[]> {
    await waitFor(() => this.requests.length >= n, `${n} callback requests (got ${this.requests.length})`, timeoutMs)
    return this.requests
  }
}

export async function receiver (t: TestContext, path?: string): Promise<Receiver> {
  return new Receiver().start(t, path)
}
