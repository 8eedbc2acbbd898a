// Web push (SPEC §10.1): the server's public key, and a user's browser subscriptions (the
// widget registers them with the user's token).
import type { FastifyInstance } from 'fastify'
import { Type, type Static } from '@sinclair/typebox'
import type { ChatService } from '../../chat/index.ts'
import type { Push } from '../../push/index.ts'
import { requireSelf } from '../auth.ts'
import { ErrorBody, PushKey, PushSubscriptionBody, PushSubscriptionView, PushUnsubscribeBody, UserParams, withErrors } from '../schemas.ts'

/** Paths that need no authentication at all. */
export const PUBLIC_PUSH_PATHS = new Set(['/api/v1/push/key'])

export function pushRoutes (app: FastifyInstance, chat: ChatService, push: Push): void {
  app.get('/push/key', {
    schema: {
      summary: 'The server\'s web push (VAPID) public key',
      description: 'No authentication. The same on every node; give it to PushManager.subscribe as applicationServerKey.',
      tags: ['push'],
      security: [],
      response: { 200: PushKey }
    }
  }, async (_req, reply) => {
    // Public, read by the widget from any site's page (no credentials involved).
    void reply.header('access-control-allow-origin', '*')
    return { publicKey: push.publicKey }
  })

  app.post<{ Params: Static<typeof UserParams>, Body: Static<typeof PushSubscriptionBody> }>('/domains/:domain/users/:userid/push', {
    config: { user: true },
    schema: {
      summary: 'Register a browser\'s push subscription for a user',
      description: 'The body is the browser\'s PushSubscription JSON. Kept until removed (or the push service answers 404 or 410); at most 10 a user, the oldest goes. An endpoint is one browser\'s: registered for another user of the domain before, it is this user\'s now. A message stored for the user while it has no open connection is pushed to each subscription. With a user\'s token: its own only.',
      tags: ['push'],
      params: UserParams,
      body: PushSubscriptionBody,
      response: withErrors({ 201: PushSubscriptionView, 403: ErrorBody })
    }
  }, async (req, reply) => {
    await chat.domains.get(req.principal!, req.params.domain)
    requireSelf(req.principal!, req.params.userid)
    return reply.status(201).send(await push.subscribe(req.params.domain, req.params.userid, req.body))
  })

  app.delete<{ Params: Static<typeof UserParams>, Body: Static<typeof PushUnsubscribeBody> }>('/domains/:domain/users/:userid/push', {
    config: { user: true },
    schema: {
      summary: 'Remove a browser\'s push subscription',
      description: 'Body `{"endpoint"}`: the subscription\'s endpoint. 204 also when the user had no such subscription (already removed, or registered by another user since). With a user\'s token: its own only.',
      tags: ['push'],
      params: UserParams,
      body: PushUnsubscribeBody,
      response: withErrors({ 204: Type.Null({ description: 'removed' }), 403: ErrorBody })
    }
  }, async (req, reply) => {
    await chat.domains.get(req.principal!, req.params.domain)
    requireSelf(req.principal!, req.params.userid)
    await push.unsubscribe(req.params.domain, req.params.userid, req.body.endpoint)
    return reply.status(204).send()
  })
}
