// Browser calls (SPEC §2): answered for the origins in the domain's `allowedOrigins`, or for
// any origin while that list is empty. A call from an origin that is not allowed is refused
// before it runs (403), so that a page elsewhere changes nothing even with a stolen token;
// pages served by mqchat itself (the admin panel) are same-origin and always allowed.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { originAllowed } from '../chat/origins.ts'
import { AppError } from '../errors.ts'
import { sendError } from './errors.ts'
import type { Domains } from '../chat/index.ts'

const DOMAIN_PATH = /^\/api\/v1\/domains\/([a-z0-9][a-z0-9.-]{0,62})(?:[/?]|$)/
const ALLOW_METHODS = 'GET, POST, PUT, PATCH, DELETE'
const ALLOW_HEADERS = 'authorization, content-type'
/** Browsers cache a preflight this long. */
const PREFLIGHT_MAX_AGE_S = 600

/** Is this browser call allowed? null: not a cross-origin call on a domain's path. */
async function verdict (domains: Domains, req: FastifyRequest): Promise<{ origin: string, allowed: boolean } | null> {
  const origin = req.headers.origin
  if (origin === undefined) return null
  const m = DOMAIN_PATH.exec(req.url)
  if (m === null) return null
  const d = await domains.find(m[1]!)
  // An unknown domain: the call itself answers 404.
  return { origin, allowed: d === null || originAllowed(origin, d.allowedOrigins, req.headers.host) }
}

function allow (reply: FastifyReply, origin: string): void {
  void reply.header('access-control-allow-origin', origin)
  void reply.header('vary', 'Origin')
}

export function corsRoutes (app: FastifyInstance, domains: Domains): void {
  app.addHook('onRequest', async (req, reply) => {
    if (req.method === 'OPTIONS') return
    const v = await verdict(domains, req)
    if (v === null) return
    if (!v.allowed) {
      return sendError(reply, new AppError('forbidden', `origin ${v.origin} is not in this domain's allowedOrigins`))
    }
    allow(reply, v.origin)
  })

  // Preflight: what a browser asks before a call with a token or a JSON body.
  app.options('/api/v1/*', { schema: { hide: true } }, async (req, reply) => {
    const v = await verdict(domains, req)
    if (v === null) return reply.status(204).send()
    if (!v.allowed) {
      return sendError(reply, new AppError('forbidden', `origin ${v.origin} is not in this domain's allowedOrigins`))
    }
    allow(reply, v.origin)
    void reply.header('access-control-allow-methods', ALLOW_METHODS)
    void reply.header('access-control-allow-headers', ALLOW_HEADERS)
    void reply.header('access-control-max-age', String(PREFLIGHT_MAX_AGE_S))
    return reply.status(204).send()
  })
}
