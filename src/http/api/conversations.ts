// A user's conversations and blocks (SPEC §2): with the domain key, or the user's own token.
import type { FastifyInstance } from 'fastify'
import { Type, type Static } from '@sinclair/typebox'
import type { ChatService } from '../../chat/index.ts'
import { requireSelf } from '../auth.ts'
import { BlockParams, ConversationList, ConversationsQuery, ErrorBody, UserParams, withErrors } from '../schemas.ts'

export function conversationRoutes (app: FastifyInstance, chat: ChatService): void {
  app.get<{ Params: Static<typeof UserParams>, Querystring: Static<typeof ConversationsQuery> }>('/domains/:domain/users/:userid/conversations', {
    config: { user: true },
    schema: {
      summary: 'A user\'s conversations, most recent first',
      description: 'Each with the peer\'s profile and presence, the last message, the unread count (the peer\'s messages above readUpTo) and both read markers.',
      tags: ['users'],
      params: UserParams,
      querystring: ConversationsQuery,
      response: withErrors({ 200: ConversationList, 403: ErrorBody })
    }
  }, async (req) => {
    // Another domain is not found before anything else is said about it.
    await chat.domains.get(req.principal!, req.params.domain)
    requireSelf(req.principal!, req.params.userid)
    return { conversations: await chat.conversations.list(req.params.domain, req.params.userid, { limit: req.query.limit ?? 50, before: req.query.before }) }
  })

  for (const method of ['PUT', 'DELETE'] as const) {
    app.route<{ Params: Static<typeof BlockParams> }>({
      method,
      url: '/domains/:domain/users/:userid/blocks/:peer',
      config: { user: true },
      schema: {
        summary: method === 'PUT' ? 'The user blocks peer: its messages are refused (blocked), its typing not relayed' : 'The user unblocks peer',
        tags: ['users'],
        params: BlockParams,
        response: withErrors({ 204: Type.Null({ description: 'done' }), 403: ErrorBody })
      },
      handler: async (req, reply) => {
        await chat.domains.get(req.principal!, req.params.domain)
        requireSelf(req.principal!, req.params.userid)
        await chat.conversations.setBlock(req.params.domain, req.params.userid, req.params.peer, method === 'PUT')
        return reply.status(204).send()
      }
    })
  }
}
