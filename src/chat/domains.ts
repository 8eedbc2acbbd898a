// Domains (tenants), their keys and the users' tokens (SPEC §2).
import { timingSafeEqual } from 'node:crypto'
import { AppError } from '../errors.ts'
import type { DomainRow, Store } from '../store/index.ts'
import { hashKey, newApiKey, newTokenSecret } from './ids.ts'
import { signToken, verifyToken, type TokenCheck } from './tokens.ts'

export type Principal = { kind: 'operator' } | { kind: 'domain', domainId: string }

export const DOMAIN_ID_PATTERN = '^[a-z0-9][a-z0-9.-]{0,62}$'
const DOMAIN_ID_RE = new RegExp(DOMAIN_ID_PATTERN)
/** Longest API key we look up; ours are 47 characters. */
const MAX_KEY_CHARS = 512

export interface CreatedDomain {
  id: string
  name: string
  apiKey: string
  tokenSecret: string
}

export class Domains {
  private readonly operatorKeyHash: Buffer

  constructor (private readonly store: Store, operatorKey: string) {
    this.operatorKeyHash = Buffer.from(hashKey(operatorKey), 'hex')
  }

  /** Who holds `key`, or null when nobody does. */
  async authenticate (key: string): Promise<Principal | null> {
    if (key.length === 0 || key.length > MAX_KEY_CHARS) return null
    const hash = hashKey(key)
    if (timingSafeEqual(Buffer.from(hash, 'hex'), this.operatorKeyHash)) return { kind: 'operator' }
    const domainId = await this.store.domainIdByKeyHash(hash)
    return domainId === null ? null : { kind: 'domain', domainId }
  }

  async create (id: string, name: string, nowMs = Date.now()): Promise<CreatedDomain> {
    if (!DOMAIN_ID_RE.test(id)) throw new AppError('invalid_request', `id must match ${DOMAIN_ID_PATTERN}`)
    const apiKey = newApiKey()
    const tokenSecret = newTokenSecret()
    await this.store.createDomain({ id, name, apiKeyHash: hashKey(apiKey), tokenSecret, createdAt: nowMs })
    return { id, name, apiKey, tokenSecret }
  }

  list (): Promise<DomainRow[]> {
    return this.store.listDomains()
  }

  /** The domain, if `who` may act on it; otherwise not_found (another domain's is not revealed). */
  async get (who: Principal, id: string): Promise<DomainRow> {
    if (who.kind === 'domain' && who.domainId !== id) throw notFound(id)
    const d = await this.store.getDomain(id)
    if (d === null) throw notFound(id)
    return d
  }

  /** A new API key; the old one stops working at once. */
  async rotateKey (who: Principal, id: string): Promise<string> {
    await this.get(who, id)
    const apiKey = newApiKey()
    await this.store.setDomainKeyHash(id, hashKey(apiKey))
    return apiKey
  }

  /** Mints a token for `userid`, which from then on exists (with an offline presence). */
  async mintToken (who: Principal, id: string, userid: number, ttlSeconds: number, nowMs = Date.now()): Promise<{ token: string, expiresAt: number }> {
    const d = await this.get(who, id)
    const expiresAt = Math.floor(nowMs / 1000) + ttlSeconds
    await this.store.ensureUser(id, userid, nowMs)
    return { token: signToken(d.tokenSecret, { sub: String(userid), aud: id, exp: expiresAt }), expiresAt }
  }

  /** Checks an MQTT CONNECT: username `<domain>/<userid>`, password the token. */
  async checkConnect (username: string, password: string, nowMs = Date.now()): Promise<{ ok: true, domainId: string, userid: number } | { ok: false, reason: string }> {
    const user = parseUsername(username)
    if (user === null) return { ok: false, reason: 'username must be <domain>/<userid>' }
    const d = await this.store.getDomain(user.domainId)
    if (d === null) return { ok: false, reason: 'no such domain' }
    const check: TokenCheck = verifyToken(password, d.tokenSecret, d.id, user.userid, Math.floor(nowMs / 1000))
    return check.ok ? { ok: true, ...user } : check
  }
}

const notFound = (id: string): AppError => new AppError('not_found', `no domain "${id}"`)

/** A userid in its one canonical decimal form: 1 to 2^53−1, no sign, no leading zero. */
export function parseUserid (s: string): number | null {
  if (!/^[1-9]\d{0,15}$/.test(s)) return null
  const n = Number(s)
  return n <= Number.MAX_SAFE_INTEGER ? n : null
}

export function parseUsername (username: string): { domainId: string, userid: number } | null {
  const slash = username.indexOf('/')
  if (slash < 0) return null
  const domainId = username.slice(0, slash)
  const userid = parseUserid(username.slice(slash + 1))
  if (!DOMAIN_ID_RE.test(domainId) || userid === null) return null
  return { domainId, userid }
}
