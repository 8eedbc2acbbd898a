// The callback calls of SPEC §2. Their delivery engine is the next step of the project;
// until it lands they answer 501 with a clear message, and they are already in the OpenAPI.
import type { FastifyInstance } from 'fastify'
import type { Static } from '@sinclair/typebox'
import type { Chat } from '../../chat/index.ts'
import { AppError } from '../../errors.ts'
import { CallbackParams, ErrorBody, withErrors } from '../schemas.ts'

const CALLS: Array<[method: 'GET' | 'PUT' | 'POST', path: string, summary: string]> = [
  ['GET', '', 'Callback settings'],
  ['PUT', '', 'Set the callback URL and/or enable it'],
  ['POST', '/rotate-secret', 'New signing secret'],
  ['POST', '/test', 'Send one sample event now'],
  ['GET', '/logs', 'Delivery attempts, newest first'],
  ['POST', '/replay', 'Send again every event since a time'],
  ['GET', '/events', 'The event feed']
]

export function callbackRoutes (app: FastifyInstance, chat: Chat): void {
  for (const [method, suffix, summary] of CALLS) {
    app.route<{ Params: Static<typeof CallbackParams> }>({
      method,
      url: `/domains/:domain/callbacks/:kind${suffix}`,
      schema: { summary, tags: ['callbacks'], params: CallbackParams, response: withErrors({ 501: ErrorBody }) },
      handler: async (req) => {
        await chat.domains.get(req.principal!, req.params.domain)
        throw new AppError('not_implemented', 'callbacks are not available in this version yet')
      }
    })
  }
}
