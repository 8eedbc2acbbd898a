// Users' tokens and presence (SPEC §2).
import type { FastifyInstance } from 'fastify'
import type { Static } from '@sinclair/typebox'
import type { Chat } from '../../chat/index.ts'
import { DomainParams, PresenceList, PresenceQuery, Token, TokenBody, UserParams, withErrors } from '../schemas.ts'

export function userRoutes (app: FastifyInstance, chat: Chat): void {
  app.post<{ Params: Static<typeof UserParams>, Body: Static<typeof TokenBody> }>('/domains/:domain/users/:userid/token', {
    schema: {
      summary: 'Mint a token: the MQTT password of this user',
      description: 'Your own server may mint the same HS256 JWT itself (sub: the userid as a string, aud: the domain id, exp), signed with the domain\'s tokenSecret.',
      tags: ['users'],
      params: UserParams,
      body: TokenBody,
      response: withErrors({ 200: Token })
    },
    // The body is optional: no body means the default lifetime.
    preValidation: async (req) => { req.body ??= {} }
  }, async (req) => chat.domains.mintToken(req.principal!, req.params.domain, req.params.userid, req.body.ttlSeconds ?? 3600))

  app.get<{ Params: Static<typeof DomainParams>, Querystring: Static<typeof PresenceQuery> }>('/domains/:domain/presence', {
    schema: { summary: 'Who is online', tags: ['users'], params: DomainParams, querystring: PresenceQuery, response: withErrors({ 200: PresenceList }) }
  }, async (req) => {
    await chat.domains.get(req.principal!, req.params.domain)
    const rows = await chat.store.listPresence(req.params.domain, req.query.status)
    return { users: rows.map((r) => ({ userid: r.userid, status: r.status, timestamp: Math.floor(r.changedAt / 1000) })) }
  })
}
