// `chat/D/U/status` (SPEC §3): null when applied (the answer is the presence change itself,
// published before this resolves), an error ack otherwise.
import { compile, describeValidationError, MqttStatus } from '../../chat/schemas.ts'
import { cidOfPayload, read, refused, type Ack, type RequestContext } from './request.ts'

const valid = compile(MqttStatus)

export async function status ({ chat, me }: RequestContext, payload: Buffer): Promise<Ack | null> {
  if (!chat.allow(me.domainId, me.userid, 'status')) return refused(cidOfPayload(payload), 'rate_limited', 'too many status changes: slow down')
  const r = read(payload)
  if (!r.ok) return r.ack
  if (!valid(r.input)) return refused(r.cid, 'invalid_request', describeValidationError(valid.errors))
  await chat.presence.setStatus(me.domainId, me.userid, r.input.status)
  return null
}
