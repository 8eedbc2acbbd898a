// Conversation history and sends from the customer's server (SPEC §2).
import type { FastifyInstance } from 'fastify'
import type { Static } from '@sinclair/typebox'
import type { ChatService } from '../../chat/index.ts'
import { AppError } from '../../errors.ts'
import { requireSelf } from '../auth.ts'
import { ApiSend, DomainParams, MessageEventSchema, MessageList, MessagesQuery, withErrors } from '../schemas.ts'

export function messageRoutes (app: FastifyInstance, chat: ChatService): void {
  app.get<{ Params: Static<typeof DomainParams>, Querystring: Static<typeof MessagesQuery> }>('/domains/:domain/messages', {
    config: { user: true },
    schema: {
      summary: 'Message history',
      description: 'Newest first, paged with `before`; or oldest first after an id with `after`. With `userid` only that user\'s messages (sent or received), with `peer` too only their conversation; without, the whole domain\'s. With a user\'s token, `userid` is required and must be its own.',
      tags: ['messages'],
      params: DomainParams,
      querystring: MessagesQuery,
      response: withErrors({ 200: MessageList })
    }
  }, async (req) => {
    await chat.domains.get(req.principal!, req.params.domain)
    const q = req.query
    const who = req.principal!
    if (who.kind === 'user') {
      if (q.userid === undefined) throw new AppError('forbidden', 'with a user\'s token, give querystring.userid: its own')
      requireSelf(who, q.userid)
    }
    if (q.peer !== undefined && q.userid === undefined) throw new AppError('invalid_request', 'querystring.peer needs querystring.userid')
    if (q.before !== undefined && q.after !== undefined) throw new AppError('invalid_request', 'give before or after, not both')
    const messages = await chat.messages.history({ domainId: req.params.domain, userid: q.userid, peer: q.peer, before: q.before, after: q.after, limit: q.limit ?? 50 })
    return { messages }
  })

  app.post<{ Params: Static<typeof DomainParams>, Body: Static<typeof ApiSend> }>('/domains/:domain/messages', {
    schema: {
      summary: 'Send a message as a user, from your server',
      description: 'The same path as an MQTT send: stored, delivered to the recipient\'s inbox, and called back. The sender\'s own open connections (every node) get it on their `ack` topic as `{"cid":null,"event":…}`, as its other tabs get the ack of its own MQTT send. Not rate-limited.',
      tags: ['messages'],
      params: DomainParams,
      body: ApiSend,
      response: withErrors({ 201: MessageEventSchema })
    }
  }, async (req, reply) => {
    await chat.domains.get(req.principal!, req.params.domain)
    const { from_userid: from, ...m } = req.body
    return reply.status(201).send(await chat.messages.send(req.params.domain, from, m, { byServer: true }))
  })
}
