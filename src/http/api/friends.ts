// A user's friends (SPEC §10.3): listed with the domain key or the user's own token; made and
// unmade (both ways at once: friendship is mutual) with the domain key only, from the
// customer's server, which knows who is whose friend.
import type { FastifyInstance } from 'fastify'
import { Type, type Static } from '@sinclair/typebox'
import type { ChatService } from '../../chat/index.ts'
import { requireDomainKey, requireSelf } from '../auth.ts'
import { ErrorBody, FriendList, FriendParams, UserParams, withErrors } from '../schemas.ts'

export function friendRoutes (app: FastifyInstance, chat: ChatService): void {
  app.get<{ Params: Static<typeof UserParams> }>('/domains/:domain/users/:userid/friends', {
    config: { user: true },
    schema: {
      summary: 'A user\'s friends, with their profile and presence',
      description: 'By userid. With a user\'s token: its own only.',
      tags: ['users'],
      params: UserParams,
      response: withErrors({ 200: FriendList, 403: ErrorBody })
    }
  }, async (req) => {
    // Another domain is not found before anything else is said about it.
    await chat.domains.get(req.principal!, req.params.domain)
    requireSelf(req.principal!, req.params.userid)
    return { friends: await chat.contacts.list(req.params.domain, req.params.userid) }
  })

  for (const method of ['PUT', 'DELETE'] as const) {
    app.route<{ Params: Static<typeof FriendParams> }>({
      method,
      url: '/domains/:domain/users/:userid/friends/:peer',
      schema: {
        summary: method === 'PUT'
          ? 'The user and peer become friends (both ways)'
          : 'The user and peer are no longer friends (both ways)',
        description: 'In a domain whose contacts are "friends", friends may message, call and push each other and see each other\'s presence. Setting what already holds changes nothing. The domain key only.',
        tags: ['users'],
        params: FriendParams,
        response: withErrors({ 204: Type.Null({ description: 'done' }), 403: ErrorBody })
      },
      handler: async (req, reply) => {
        requireDomainKey(req.principal!)
        await chat.domains.get(req.principal!, req.params.domain)
        await chat.contacts.setFriend(req.params.domain, req.params.userid, req.params.peer, method === 'PUT')
        return reply.status(204).send()
      }
    })
  }
}
