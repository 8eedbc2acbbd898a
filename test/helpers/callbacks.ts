// The callback calls of one domain and kind, as a customer's code would make them, plus the
// small pieces the callback suites share: a server set up with one callback on, the
// messages a receiver got from one user, a free port nobody listens on, and hostile
// receivers written at the socket level.
import net, { type AddressInfo } from 'node:net'
import type { TestContext } from 'node:test'
import { receiver, type Received } from './receiver.ts'
import { startServer, type TestServer } from './server.ts'
import { waitFor } from './wait.ts'

export type Kind = 'presence' | 'messages'
export interface DomainKeys { id: string, apiKey: string, tokenSecret: string }

/** Fast settings: 127.0.0.1 receivers allowed, short attempts, short back-off. */
export const FAST_ENV = {
  MQCHAT_CALLBACK_ALLOW_PRIVATE: '1',
  MQCHAT_CALLBACK_TIMEOUT_MS: '300',
  MQCHAT_CALLBACK_RETRY_DELAYS: '50ms,50ms,50ms'
}

export interface LogItem {
  id: number
  eventId: number
  webhookId: string
  at: number
  url: string
  requestBody: string
  responseStatus: number | null
  responseBody: string | null
  durationMs: number
  error: string | null
  attempt: number
  result: 'ok' | 'failed'
}

export interface FeedItem { id: number, webhookId: string, at: number, body: any, delivered: boolean }

export interface Settings {
  kind: Kind
  url: string | null
  enabled: boolean
  disabledReason: string | null
  disabledAt: number | null
  signingSecret: string
  pending: number
  lastSuccessAt: number | null
  lastFailureAt: number | null
}

/** The callback calls of SPEC §2 for one domain and kind, with that domain's key. */
export function callbackApi (s: TestServer, d: DomainKeys, kind: Kind = 'messages') {
  const path = `/api/v1/domains/${d.id}/callbacks/${kind}`
  const ok = <T>(r: { status: number, body: any }, what: string): T => {
    if (r.status !== 200) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`)
    return r.body as T
  }
  return {
    path,
    get: async (): Promise<Settings> => ok(await s.api('GET', path, undefined, d.apiKey), 'GET settings'),
    put: (body: unknown) => s.api('PUT', path, body, d.apiKey),
    rotate: async (): Promise<Settings> => ok(await s.api('POST', `${path}/rotate-secret`, undefined, d.apiKey), 'rotate-secret'),
    test: () => s.api('POST', `${path}/test`, undefined, d.apiKey),
    logs: async (query = ''): Promise<LogItem[]> => ok<{ items: LogItem[] }>(await s.api('GET', `${path}/logs${query}`, undefined, d.apiKey), 'logs').items,
    events: async (query = ''): Promise<{ items: FeedItem[], next: number }> => ok(await s.api('GET', `${path}/events${query}`, undefined, d.apiKey), 'events'),
    replay: (since: number) => s.api('POST', `${path}/replay`, { since }, d.apiKey),
    /** Sends a message from `from` through the API (a message event for the messages callback). */
    send: async (from: number, text: string, to = 9999): Promise<any> => {
      const r = await s.api('POST', `/api/v1/domains/${d.id}/messages`, { from_userid: from, to_userid: to, message: text, type: 0 }, d.apiKey)
      if (r.status !== 201) throw new Error(`message not sent: ${r.status} ${JSON.stringify(r.body)}`)
      return r.body
    },
    /** Waits until the log holds at least `n` attempts; returns them, newest first. */
    logsAtLeast: async (n: number, timeoutMs = 10_000): Promise<LogItem[]> =>
      waitFor(async () => {
        const items = (await s.api('GET', `${path}/logs?limit=500`, undefined, d.apiKey)).body.items as LogItem[]
        return items.length >= n ? items : undefined
      }, `${n} log rows`, timeoutMs),
    /** Waits until the server has switched the callback off. */
    disabled: async (timeoutMs = 10_000): Promise<Settings> =>
      waitFor(async () => {
        const v = (await s.api('GET', path, undefined, d.apiKey)).body as Settings
        return !v.enabled && v.disabledAt !== null ? v : undefined
      }, `${kind} callback disabled`, timeoutMs)
  }
}
export type CallbackApi = ReturnType<typeof callbackApi>

/** A server, a domain, a receiver, and the domain's callback of `kind` on and pointing at it. */
export async function withCallback (t: TestContext, env: Record<string, string> = {}, kind: Kind = 'messages') {
  const s = await startServer(t, {}, { ...FAST_ENV, ...env })
  const d = await s.domain()
  const rx = await receiver(t)
  const cb = callbackApi(s, d, kind)
  const put = await cb.put({ url: rx.url, enabled: true })
  if (put.status !== 200) throw new Error(`callback not set: ${JSON.stringify(put.body)}`)
  return { s, d, rx, cb }
}

/** The texts of the message events `from` sent that reached the receiver, in arrival order. */
export const textsFrom = (reqs: Received[], from: number): string[] =>
  reqs.filter((r) => r.json?.from_userid === from).map((r) => r.json.message.message as string)

/** The requests that carried the message `text`. */
export const carrying = (reqs: Received[], text: string): Received[] =>
  reqs.filter((r) => r.json?.message?.message === text)

/** A port on 127.0.0.1 that nothing listens on (bound, then closed again). */
export async function closedPort (): Promise<number> {
  const srv = net.createServer()
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve))
  const port = (srv.address() as AddressInfo).port
  await new Promise<void>((resolve) => srv.close(() => resolve()))
  return port
}

/** Headers as standardwebhooks' verify wants them. */
export const headersOf = (r: Received): Record<string, string> =>
  Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : v ?? '']))

/**
 * A receiver at the socket level, for answers no well-behaved HTTP server gives (a status
 * line trickled byte by byte). `onRequest` gets each socket once a request has arrived.
 */
export class RawReceiver {
  readonly server: net.Server
  readonly sockets = new Set<net.Socket>()
  connections = 0
  url = ''

  constructor (onRequest: (socket: net.Socket) => void) {
    this.server = net.createServer((socket) => {
      this.connections++
      this.sockets.add(socket)
      socket.on('error', () => {})
      socket.on('close', () => this.sockets.delete(socket))
      let seen = ''
      const onData = (b: Buffer): void => {
        seen += b.toString('latin1')
        // The request is in once the headers and the Content-Length of body have arrived.
        const end = seen.indexOf('\r\n\r\n')
        if (end < 0) return
        const len = Number(/content-length:\s*(\d+)/i.exec(seen.slice(0, end))?.[1] ?? 0)
        if (seen.length - end - 4 < len) return
        socket.off('data', onData)
        onRequest(socket)
      }
      socket.on('data', onData)
    })
  }

  async start (t: TestContext, path = '/hook'): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve))
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`
    t.after(() => this.close())
    return this
  }

  /** Cuts every connection (so no attempt is left hanging on it) and stops listening. */
  async close (): Promise<void> {
    for (const s of this.sockets) s.destroy()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }
}
