// Domains (tenants), their keys and the users' tokens (SPEC §2).
import { timingSafeEqual } from 'node:crypto'
import { AppError } from '../errors.ts'
import type { ContactsMode, DomainPatch, DomainRow, ProfilePatch, Store } from '../store/index.ts'
import { hashKey, newApiKey, newTokenSecret } from './ids.ts'
import { originAllowed, originProblem } from './origins.ts'
import { issuedAt, tokenErased } from './erasure.ts'
import { isEmptyPatch, profileFromClaims } from './profiles.ts'
import { readClaims, signToken, verifyToken, type TokenCheck } from './tokens.ts'

/**
 * Who makes a REST call: the operator, a domain (its key), or a user of a domain (its token:
 * SPEC §2, the calls marked *user*, for itself only).
 */
export type Principal = { kind: 'operator' } | { kind: 'domain', domainId: string } | { kind: 'user', domainId: string, userid: number }

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

  constructor (
    private readonly store: Store,
    operatorKey: string,
    /** SPEC §10.3: told when a PATCH set `contacts`, once it is stored */
    private readonly onContacts: (domainId: string, contacts: ContactsMode) => Promise<void> = async () => {}
  ) {
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

  /** The domain by id, whoever asks (for checks that come before authentication: CORS). */
  find (id: string): Promise<DomainRow | null> {
    return this.store.getDomain(id)
  }

  list (): Promise<DomainRow[]> {
    return this.store.listDomains()
  }

  /**
   * A user's token as a REST credential: checked with the secret of the domain it names
   * (`aud`), so that a valid token used on another domain's path is told not_found there,
   * as a domain key would be. Null when it is not a valid token.
   */
  async authenticateToken (token: string, nowMs = Date.now()): Promise<Principal | null> {
    const claims = readClaims(token)
    if (claims === null) return null
    const sub = parseUserid(String(claims.sub))
    const auds = Array.isArray(claims.aud) ? claims.aud : [claims.aud]
    if (sub === null) return null
    for (const aud of auds.slice(0, 4)) {
      if (typeof aud !== 'string' || !DOMAIN_ID_RE.test(aud)) continue
      const d = await this.store.getDomain(aud)
      if (d === null) continue
      if (!verifyToken(token, d.tokenSecret, d.id, sub, Math.floor(nowMs / 1000)).ok) continue
      if (tokenErased(claims.iat, await this.store.erasedAt(d.id, sub))) return null
      return { kind: 'user', domainId: d.id, userid: sub }
    }
    return null
  }

  /** The domain, if `who` may act on it; otherwise not_found (another domain's is not revealed). */
  async get (who: Principal, id: string): Promise<DomainRow> {
    if (who.kind !== 'operator' && who.domainId !== id) throw notFound(id)
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

  /** Changes a domain's settings (SPEC §2 PATCH); origins are checked here. */
  async update (who: Principal, id: string, patch: DomainPatch): Promise<DomainRow> {
    await this.get(who, id)
    patch.allowedOrigins?.forEach((o, i) => {
      const problem = originProblem(o)
      if (problem !== null) throw new AppError('invalid_request', `body.allowedOrigins.${i} ${problem}`)
    })
    if (patch.allowedOrigins !== undefined) patch = { ...patch, allowedOrigins: [...new Set(patch.allowedOrigins)] }
    const d = await this.store.updateDomain(id, patch)
    if (d === null) throw notFound(id)
    if (patch.contacts !== undefined) await this.onContacts(id, d.contacts)
    return d
  }

  /**
   * Mints a token for `userid`, which from then on exists (with an offline presence); the
   * profile fields given with the call are saved as with PUT.
   */
  async mintToken (who: Principal, id: string, userid: number, ttlSeconds: number, nowMs = Date.now(), profile: ProfilePatch = {}): Promise<{ token: string, expiresAt: number }> {
    const d = await this.get(who, id)
    const nowSec = Math.floor(nowMs / 1000)
    const expiresAt = nowSec + ttlSeconds
    if (isEmptyPatch(profile)) await this.store.ensureUser(id, userid, nowMs)
    else await this.store.setProfile(id, userid, profile, nowMs)
    const iat = issuedAt(nowMs, await this.store.erasedAt(id, userid))
    return { token: signToken(d.tokenSecret, { sub: String(userid), aud: id, exp: expiresAt, iat }), expiresAt }
  }

  /**
   * Checks an MQTT CONNECT: username `<domain>/<userid>`, password the token; over WebSocket
   * the page's `origin` against the domain's allowedOrigins (SPEC §3). The profile claims
   * of an accepted token are saved (SPEC §2) before the user is let in, so that whoever it
   * talks to next sees its name.
   */
  async checkConnect (username: string, password: string, nowMs = Date.now(), browser: { origin?: string, host?: string } = {}): Promise<{ ok: true, domainId: string, userid: number, contacts: ContactsMode } | { ok: false, reason: string }> {
    const user = parseUsername(username)
    if (user === null) return { ok: false, reason: 'username must be <domain>/<userid>' }
    const d = await this.store.getDomain(user.domainId)
    if (d === null) return { ok: false, reason: 'no such domain' }
    const check: TokenCheck = verifyToken(password, d.tokenSecret, d.id, user.userid, Math.floor(nowMs / 1000))
    if (!check.ok) return check
    const claims = readClaims(password) ?? {}
    if (tokenErased(claims.iat, await this.store.erasedAt(d.id, user.userid))) return { ok: false, reason: 'the user was erased after this token was minted' }
    if (browser.origin !== undefined && !originAllowed(browser.origin, d.allowedOrigins, browser.host)) {
      return { ok: false, reason: `origin ${browser.origin} is not in the domain's allowedOrigins` }
    }
    const profile = profileFromClaims(claims)
    if (!isEmptyPatch(profile)) await this.store.setProfile(d.id, user.userid, profile, nowMs)
    return { ok: true, ...user, contacts: d.contacts }
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
