// Calls (SPEC §10.2): the ICE servers a user's browser needs for its RTCPeerConnection. The
// signals themselves travel over MQTT (`chat/D/U/call`); this is the one REST call of calls.
import type { FastifyInstance } from 'fastify'
import { Type, type Static } from '@sinclair/typebox'
import type { ChatService } from '../../chat/index.ts'
import { iceServersFor } from '../../chat/ice.ts'
import type { Config } from '../../config.ts'
import { requireSelf } from '../auth.ts'
import { ErrorBody, UserParams, withErrors } from '../schemas.ts'

const IceServer = Type.Object({
  urls: Type.Union([Type.String(), Type.Array(Type.String())], { description: 'stun:, stuns:, turn: or turns: URLs' }),
  username: Type.Optional(Type.String({ description: 'with MQCHAT_TURN_SECRET: `<expiry unix seconds>:<userid>`, valid 1 h' })),
  credential: Type.Optional(Type.String({ description: 'with MQCHAT_TURN_SECRET: base64(HMAC-SHA1(secret, username))' }))
})
const IceServers = Type.Object({ iceServers: Type.Array(IceServer, { description: 'for `new RTCPeerConnection({ iceServers })`' }) })

export function callRoutes (app: FastifyInstance, chat: ChatService, config: Pick<Config, 'iceServers' | 'turnSecret'>): void {
  app.get<{ Params: Static<typeof UserParams> }>('/domains/:domain/users/:userid/ice', {
    config: { user: true },
    schema: {
      summary: 'The STUN and TURN servers for a user\'s calls',
      description: 'From MQCHAT_ICE_SERVERS; with MQCHAT_TURN_SECRET set, each TURN entry carries credentials made for this user, valid one hour (coturn\'s use-auth-secret scheme). Ask again for a call that starts later. With a user\'s token: its own only. Not cached.',
      tags: ['users'],
      params: UserParams,
      response: withErrors({ 200: IceServers, 403: ErrorBody })
    }
  }, async (req, reply) => {
    await chat.domains.get(req.principal!, req.params.domain)
    requireSelf(req.principal!, req.params.userid)
    // (credentials: no shared cache may keep them, nor hand them to someone else)
    void reply.header('cache-control', 'no-store')
    return { iceServers: iceServersFor(config.iceServers, config.turnSecret, req.params.userid, Date.now()) }
  })
}
