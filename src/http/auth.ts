// `Authorization: Bearer <key>`: the operator key may do everything, a domain key only acts
// on its own domain, and a user's token (its MQTT password) may make the calls marked *user*,
// for itself only (SPEC §2).
import type { FastifyRequest } from 'fastify'
import type { Domains, Principal } from '../chat/index.ts'
import { AppError } from '../errors.ts'

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal
  }
  interface FastifyContextConfig {
    /** SPEC §2: a user's token may make this call (each handler checks it is for itself). */
    user?: boolean
  }
}

/** A JWT has three base64url parts; our API keys have none of these dots. */
const JWT_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]+$/

export async function authenticate (domains: Domains, req: FastifyRequest): Promise<Principal> {
  const header = req.headers.authorization
  const m = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header)
  if (m === null) throw new AppError('unauthorized', 'send your API key or the user\'s token as Authorization: Bearer <key>')
  const key = m[1]!
  const who = (await domains.authenticate(key)) ?? (JWT_SHAPE.test(key) ? await domains.authenticateToken(key) : null)
  if (who === null) throw new AppError('unauthorized', JWT_SHAPE.test(key) ? 'the token is not valid (signature, aud, sub or exp)' : 'unknown API key')
  // A user's token: only the calls marked for users (another domain's path still answers
  // not_found, from the handler, before anything of it is revealed).
  if (who.kind === 'user' && req.routeOptions.config.user !== true) {
    const pathDomain = (req.params as { domain?: unknown } | undefined)?.domain
    if (typeof pathDomain === 'string' && pathDomain !== who.domainId) throw new AppError('not_found', `no domain "${pathDomain}"`)
    throw new AppError('forbidden', 'a user\'s token cannot make this call: use the domain key, from your server')
  }
  return who
}

export function requireOperator (who: Principal): void {
  if (who.kind !== 'operator') throw new AppError('forbidden', 'this needs the operator key')
}

/** SPEC §2: a user's token acts for itself only; another user's data is forbidden. */
export function requireSelf (who: Principal, userid: number): void {
  if (who.kind === 'user' && who.userid !== userid) throw new AppError('forbidden', 'a user\'s token may act only for its own user')
}

/** The domain key (or the operator): calls that change a domain's users or settings. */
export function requireDomainKey (who: Principal): void {
  if (who.kind === 'user') throw new AppError('forbidden', 'a user\'s token cannot make this call: use the domain key, from your server')
}
