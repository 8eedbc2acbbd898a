// A web push service of the test's own (SPEC §10.1), on 127.0.0.1: it hands out
// subscriptions (a fresh P-256 key pair and 16-byte auth secret each, as a browser makes
// them), decrypts what mqchat sends to them (RFC 8291 aes128gcm, with http_ece) so a test
// reads what the browser would show, checks the VAPID header (RFC 8292), and answers what the
// test says (201 by default; 410, 500… for one endpoint).
import { createECDH, createPublicKey, createVerify, randomBytes, randomUUID, type ECDH } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { TestContext } from 'node:test'
import ece from 'http_ece'
import { waitFor } from './wait.ts'

export interface Pushed {
  endpoint: string
  headers: http.IncomingHttpHeaders
  /** the decrypted payload, parsed */
  payload: any
  /** the VAPID JWT's claims, its signature checked against `k` */
  vapid: { aud: string, exp: number, sub: string, publicKey: string }
  at: number
}

export interface TestSubscription {
  endpoint: string
  keys: { p256dh: string, auth: string }
  /** what PushSubscription.toJSON() gives */
  toJSON: () => { endpoint: string, expirationTime: null, keys: { p256dh: string, auth: string } }
}

export class PushService {
  readonly pushed: Pushed[] = []
  /** requests that could not be read (bad encryption or VAPID): the test fails on them */
  readonly broken: Array<{ endpoint: string, error: string }> = []
  /** the status each endpoint answers (default 201) */
  readonly status = new Map<string, number[]>()
  private readonly subs = new Map<string, { ecdh: ECDH, auth: Buffer }>()
  private readonly server: http.Server
  base = ''

  constructor () {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c) => chunks.push(c))
      req.on('end', () => {
        const endpoint = this.base + (req.url ?? '')
        const sub = this.subs.get(endpoint)
        const queued = this.status.get(endpoint)
        const status = queued !== undefined && queued.length > 0 ? (queued.length > 1 ? queued.shift()! : queued[0]!) : 201
        if (sub === undefined) {
          res.writeHead(404).end()
          return
        }
        try {
          const body = Buffer.concat(chunks)
          const plain = ece.decrypt(body, { version: 'aes128gcm', privateKey: sub.ecdh, authSecret: sub.auth.toString('base64url') })
          this.pushed.push({ endpoint, headers: req.headers, payload: JSON.parse(plain.toString('utf8')), vapid: readVapid(req.headers.authorization ?? ''), at: Date.now() })
        } catch (err) {
          this.broken.push({ endpoint, error: (err as Error).message })
          res.writeHead(400).end()
          return
        }
        res.writeHead(status).end()
      })
    })
  }

  async start (t: TestContext): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve))
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
    t.after(() => new Promise<void>((resolve) => { this.server.closeAllConnections(); this.server.close(() => resolve()) }))
    return this
  }

  /** A new browser's subscription on this service. */
  subscription (): TestSubscription {
    const ecdh = createECDH('prime256v1')
    ecdh.generateKeys()
    const auth = randomBytes(16)
    const endpoint = `${this.base}/push/${randomUUID()}`
    this.subs.set(endpoint, { ecdh, auth })
    const keys = { p256dh: ecdh.getPublicKey('base64url'), auth: auth.toString('base64url') }
    return { endpoint, keys, toJSON: () => ({ endpoint, expirationTime: null, keys }) }
  }

  to (endpoint: string): Pushed[] {
    return this.pushed.filter((p) => p.endpoint === endpoint)
  }

  async count (n: number, timeoutMs = 10_000): Promise<Pushed[]> {
    await waitFor(() => this.pushed.length + this.broken.length >= n, `${n} pushes (got ${this.pushed.length})`, timeoutMs)
    return this.pushed
  }
}

/** `vapid t=<jwt>, k=<public key>`: the claims, once the ES256 signature is checked with k. */
function readVapid (header: string): Pushed['vapid'] {
  const m = /^vapid t=([\w-]+\.[\w-]+\.[\w-]+), k=([\w-]+)$/.exec(header)
  if (m === null) throw new Error(`not a VAPID authorization: ${header}`)
  const [h, p, sig] = m[1]!.split('.') as [string, string, string]
  const raw = Buffer.from(m[2]!, 'base64url')
  const key = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: raw.subarray(1, 33).toString('base64url'), y: raw.subarray(33).toString('base64url') }, format: 'jwk' })
  const ok = createVerify('SHA256').update(`${h}.${p}`).verify({ key, dsaEncoding: 'ieee-p1363' }, Buffer.from(sig, 'base64url'))
  if (!ok) throw new Error('the VAPID signature does not verify')
  return { ...JSON.parse(Buffer.from(p, 'base64url').toString()), publicKey: m[2]! }
}

export async function pushService (t: TestContext): Promise<PushService> {
  return new PushService().start(t)
}
