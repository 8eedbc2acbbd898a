// The callback calls (SPEC §2, §4): settings, secret rotation, test send, logs, replay, feed.
import type { FastifyInstance } from 'fastify'
import { Type, type Static } from '@sinclair/typebox'
import type { Callbacks } from '../../callbacks/index.ts'
import type { ChatService } from '../../chat/index.ts'
import { MessageId, StringEnum } from '../../chat/schemas.ts'
import type { EventKind } from '../../store/index.ts'
import { CallbackParams, ErrorBody, UnixSeconds, withErrors } from '../schemas.ts'

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()])
const NullableInt = Type.Union([Type.Integer(), Type.Null()])

const CallbackView = Type.Object({
  kind: StringEnum(['presence', 'messages']),
  url: Nullable(Type.String()),
  enabled: Type.Boolean(),
  disabledReason: Nullable(Type.String({ description: 'why the server switched it off' })),
  disabledAt: Type.Union([UnixSeconds, Type.Null()]),
  signingSecret: Type.String({ description: 'whsec_…: verify webhook-signature with it (Standard Webhooks)' }),
  pending: Type.Integer({ description: 'events waiting to be delivered' }),
  lastSuccessAt: Type.Union([UnixSeconds, Type.Null()]),
  lastFailureAt: Type.Union([UnixSeconds, Type.Null()])
})

const CallbackUpdate = Type.Object({
  url: Type.Optional(Type.String({ description: 'absolute http(s) URL, at most 2,048 characters, public address' })),
  enabled: Type.Optional(Type.Boolean())
}, { additionalProperties: false })

const TestResult = Type.Object({
  result: StringEnum(['ok', 'failed']),
  responseStatus: NullableInt,
  responseBody: Nullable(Type.String()),
  durationMs: Type.Integer(),
  error: Nullable(Type.String()),
  requestBody: Type.String()
})

const LogItem = Type.Object({
  id: Type.Integer(),
  eventId: Type.Integer(),
  webhookId: Type.String(),
  at: UnixSeconds,
  url: Type.String(),
  requestHeaders: Type.Record(Type.String(), Type.String()),
  requestBody: Type.String(),
  responseStatus: NullableInt,
  responseBody: Nullable(Type.String({ description: 'the first 1 KiB' })),
  durationMs: Type.Integer(),
  error: Nullable(Type.String()),
  attempt: Type.Integer(),
  result: StringEnum(['ok', 'failed'])
})

const LogsQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
  result: Type.Optional(StringEnum(['ok', 'failed'])),
  before: Type.Optional(MessageId)
}, { additionalProperties: false })

const ReplayBody = Type.Object({
  since: Type.Integer({ minimum: 0, maximum: 10_000_000_000, description: 'unix seconds: every event of this kind since then is sent again, in order' })
}, { additionalProperties: false })

const EventsQuery = Type.Object({
  after: Type.Optional(MessageId),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 }))
}, { additionalProperties: false })

const EventFeed = Type.Object({
  items: Type.Array(Type.Object({
    id: Type.Integer(),
    webhookId: Type.String(),
    at: UnixSeconds,
    body: Type.Unknown({ description: 'the callback body (SPEC §4.1, §4.2)' }),
    delivered: Type.Boolean()
  })),
  next: Type.Integer({ description: 'pass as `after` to read on' })
})

type Params = Static<typeof CallbackParams>

export function callbackRoutes (app: FastifyInstance, chat: ChatService, callbacks: Callbacks): void {
  const base = '/domains/:domain/callbacks/:kind'
  const own = async (req: { principal?: unknown, params: Params }): Promise<[string, EventKind]> => {
    await chat.domains.get(req.principal as never, req.params.domain)
    return [req.params.domain, req.params.kind as EventKind]
  }

  app.get<{ Params: Params }>(base, {
    schema: { summary: 'Callback settings', tags: ['callbacks'], params: CallbackParams, response: withErrors({ 200: CallbackView }) }
  }, async (req) => callbacks.get(...await own(req)))

  app.put<{ Params: Params, Body: Static<typeof CallbackUpdate> }>(base, {
    schema: {
      summary: 'Set the URL and/or switch the callback on or off',
      description: 'Callbacks are off by default. Turning one on needs a URL that passes the checks now (400 invalid_url or forbidden_target). A callback the server switched off is turned on again here.',
      tags: ['callbacks'],
      params: CallbackParams,
      body: CallbackUpdate,
      response: withErrors({ 200: CallbackView })
    }
  }, async (req) => callbacks.update(...await own(req), req.body))

  app.post<{ Params: Params }>(`${base}/rotate-secret`, {
    schema: {
      summary: 'New signing secret',
      description: 'The old secret keeps signing beside the new one for 24 hours (two signatures in webhook-signature).',
      tags: ['callbacks'],
      params: CallbackParams,
      response: withErrors({ 200: CallbackView })
    }
  }, async (req) => callbacks.rotateSecret(...await own(req)))

  app.post<{ Params: Params }>(`${base}/test`, {
    schema: {
      summary: 'Send one sample event now',
      description: 'Answers what the receiver did. Changes no state: nothing is logged, the callback is never switched off by a test. The request carries `mqchat-test: 1`.',
      tags: ['callbacks'],
      params: CallbackParams,
      response: withErrors({ 200: TestResult })
    }
  }, async (req) => callbacks.test(...await own(req)))

  app.get<{ Params: Params, Querystring: Static<typeof LogsQuery> }>(`${base}/logs`, {
    schema: {
      summary: 'Delivery attempts, newest first',
      description: 'Kept: at least the last 1,000 per callback or 7 days, whichever is more. Page with `before` (the last id you got).',
      tags: ['callbacks'],
      params: CallbackParams,
      querystring: LogsQuery,
      response: withErrors({ 200: Type.Object({ items: Type.Array(LogItem) }) })
    }
  }, async (req) => ({ items: await callbacks.logs(...await own(req), { limit: req.query.limit ?? 50, result: req.query.result, before: req.query.before }) }))

  app.post<{ Params: Params, Body: Static<typeof ReplayBody> }>(`${base}/replay`, {
    schema: {
      summary: 'Send again, in order, every event of this kind since a time',
      description: 'Each event keeps its webhook-id. The callback must be on (409 callback_disabled otherwise).',
      tags: ['callbacks'],
      params: CallbackParams,
      body: ReplayBody,
      response: withErrors({ 200: Type.Object({ queued: Type.Integer() }), 409: ErrorBody })
    }
  }, async (req) => ({ queued: await callbacks.replay(...await own(req), req.body.since) }))

  app.get<{ Params: Params, Querystring: Static<typeof EventsQuery> }>(`${base}/events`, {
    schema: {
      summary: 'The event feed, oldest first',
      description: 'Every event of this kind for at least 7 days, delivered or not: a job can catch up on what it missed.',
      tags: ['callbacks'],
      params: CallbackParams,
      querystring: EventsQuery,
      response: withErrors({ 200: EventFeed })
    }
  }, async (req) => callbacks.events(...await own(req), req.query.after ?? 0, req.query.limit ?? 100))
}
