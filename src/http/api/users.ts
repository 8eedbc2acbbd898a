// Users: tokens, profiles, the user list and presence (SPEC §2).
import type { FastifyInstance } from 'fastify'
import { Type, type Static } from '@sinclair/typebox'
import type { ChatService } from '../../chat/index.ts'
import { profilePatch } from '../../chat/profiles.ts'
import { AppError } from '../../errors.ts'
import type { Principal } from '../../chat/index.ts'
import { requireDomainKey } from '../auth.ts'
import {
  DomainParams, ErrorBody, PresenceList, PresenceQuery, ProfileBody, Token, TokenBody, UserList, UserParams, UserSchema, UsersQuery, withErrors
} from '../schemas.ts'

export function userRoutes (app: FastifyInstance, chat: ChatService): void {
  app.post<{ Params: Static<typeof UserParams>, Body: Static<typeof TokenBody> }>('/domains/:domain/users/:userid/token', {
    schema: {
      summary: 'Mint a token: the MQTT password of this user',
      description: 'Your own server may mint the same HS256 JWT itself (sub: the userid as a string, aud: the domain id, exp), signed with the domain\'s tokenSecret; the claims name, picture and profile are then saved as the user\'s profile when it connects. Profile fields given here are saved as with PUT.',
      tags: ['users'],
      params: UserParams,
      body: TokenBody,
      response: withErrors({ 200: Token })
    },
    // The body is optional: no body means the default lifetime.
    preValidation: async (req) => { req.body ??= {} }
  }, async (req) => {
    const { ttlSeconds, ...profile } = req.body
    return chat.domains.mintToken(req.principal!, req.params.domain, req.params.userid, ttlSeconds ?? 3600, Date.now(), profilePatch(profile))
  })

  app.put<{ Params: Static<typeof UserParams>, Body: Static<typeof ProfileBody> }>('/domains/:domain/users/:userid', {
    schema: {
      summary: 'Create or update a user\'s profile',
      description: 'Each field is optional; a field left out is kept, "" clears it. URLs are http(s) only.',
      tags: ['users'],
      params: UserParams,
      body: ProfileBody,
      response: withErrors({ 200: UserSchema, 403: ErrorBody })
    }
  }, async (req) => {
    requireDomainKey(req.principal!)
    await chat.domains.get(req.principal!, req.params.domain)
    await chat.profiles.set(req.params.domain, req.params.userid, profilePatch(req.body))
    return chat.profiles.get(req.params.domain, req.params.userid)
  })

  app.delete<{ Params: Static<typeof UserParams> }>('/domains/:domain/users/:userid', {
    schema: {
      summary: 'Erase a user',
      description: 'Its profile, presence, every message from or to it (and their files), its conversations and blocks; its tokens stop working (tokens minted afterwards work again: the user exists anew). Callback events already written stay until their own retention. A connected user is disconnected and goes offline first.',
      tags: ['users'],
      params: UserParams,
      response: withErrors({ 204: Type.Null({ description: 'erased' }), 403: ErrorBody })
    }
  }, async (req, reply) => {
    requireDomainKey(req.principal!)
    await chat.domains.get(req.principal!, req.params.domain)
    await chat.erasure.erase(req.params.domain, req.params.userid)
    return reply.status(204).send()
  })

  app.get<{ Params: Static<typeof UserParams> }>('/domains/:domain/users/:userid', {
    config: { user: true },
    schema: {
      summary: 'A user\'s profile and presence',
      description: 'With a user\'s token: any user of its domain (the same as the user list shows); in a domain whose contacts are "friends", itself and its friends only (else 403 forbidden).',
      tags: ['users'],
      params: UserParams,
      response: withErrors({ 200: UserSchema, 403: ErrorBody })
    }
  }, async (req) => {
    await chat.domains.get(req.principal!, req.params.domain)
    const who = req.principal!
    if (who.kind === 'user' && who.userid !== req.params.userid) {
      const visible = await chat.contacts.visibleUsers(req.params.domain, who.userid)
      if (visible !== null && !visible.some((u) => u.userid === req.params.userid)) {
        throw new AppError('forbidden', `user ${req.params.userid} is not your friend`)
      }
    }
    return chat.profiles.get(req.params.domain, req.params.userid)
  })

  app.get<{ Params: Static<typeof DomainParams>, Querystring: Static<typeof UsersQuery> }>('/domains/:domain/users', {
    config: { user: true },
    schema: {
      summary: 'Users with their profile and presence, by userid',
      description: 'Paged: pass the answer\'s `next` as `after` until it is null. In a domain whose contacts are "friends", a user\'s token lists itself and its friends only.',
      tags: ['users'],
      params: DomainParams,
      querystring: UsersQuery,
      response: withErrors({ 200: UserList, 403: ErrorBody })
    }
  }, async (req) => {
    await chat.domains.get(req.principal!, req.params.domain)
    const q = { status: req.query.status, after: req.query.after, limit: req.query.limit ?? 100 }
    const visible = await visibleTo(chat, req.principal!, req.params.domain)
    if (visible === null) return chat.profiles.list(req.params.domain, q)
    // SPEC §10.3: a user of a friends-only domain lists itself and its friends, paged alike.
    const users = visible.filter((u) => (q.status === undefined || u.status === q.status) && u.userid > (q.after ?? 0)).slice(0, q.limit)
    return { users, next: users.length === q.limit ? users[users.length - 1]!.userid : null }
  })

  app.get<{ Params: Static<typeof DomainParams>, Querystring: Static<typeof PresenceQuery> }>('/domains/:domain/presence', {
    config: { user: true },
    schema: { summary: 'Who is online', description: 'In a domain whose contacts are "friends", a user\'s token sees itself and its friends only.', tags: ['users'], params: DomainParams, querystring: PresenceQuery, response: withErrors({ 200: PresenceList, 403: ErrorBody }) }
  }, async (req) => {
    await chat.domains.get(req.principal!, req.params.domain)
    const visible = await visibleTo(chat, req.principal!, req.params.domain)
    if (visible !== null) {
      return { users: visible.filter((u) => req.query.status === undefined || u.status === req.query.status).map((u) => ({ userid: u.userid, status: u.status, timestamp: u.timestamp })) }
    }
    const rows = await chat.presenceRows.listPresence(req.params.domain, req.query.status)
    return { users: rows.map((r) => ({ userid: r.userid, status: r.status, timestamp: Math.floor(r.changedAt / 1000) })) }
  })
}

/** SPEC §10.3: what a user's token may see of a friends-only domain (itself and its friends); null: anyone (a key, or a domain open to everyone). */
function visibleTo (chat: ChatService, who: Principal, domainId: string) {
  return who.kind === 'user' ? chat.contacts.visibleUsers(domainId, who.userid) : Promise.resolve(null)
}
