// `Authorization: Bearer <key>`: the operator key may do everything, a domain key only acts
// on its own domain (SPEC §2).
import type { FastifyRequest } from 'fastify'
import type { Domains, Principal } from '../chat/index.ts'
import { AppError } from '../errors.ts'

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal
  }
}

export async function authenticate (domains: Domains, req: FastifyRequest): Promise<Principal> {
  const header = req.headers.authorization
  const m = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header)
  if (m === null) throw new AppError('unauthorized', 'send your API key as Authorization: Bearer <key>')
  const who = await domains.authenticate(m[1]!)
  if (who === null) throw new AppError('unauthorized', 'unknown API key')
  return who
}

export function requireOperator (who: Principal): void {
  if (who.kind !== 'operator') throw new AppError('forbidden', 'this needs the operator key')
}
