// `chat/D/U/typing` (SPEC §3): relayed to the peer as a signal; answered only when refused.
// A repeat within the second is not an error: clients repeat it while the user types.
import { compile, describeValidationError, MqttTyping } from '../../chat/schemas.ts'
import { cidOfPayload, read, refused, type Ack, type RequestContext } from './request.ts'

const valid = compile(MqttTyping)

export async function typing ({ chat, me }: RequestContext, payload: Buffer): Promise<Ack | null> {
  if (!chat.allow(me.domainId, me.userid, 'typing')) return refused(cidOfPayload(payload), 'rate_limited', 'too many typing notices: slow down')
  const r = read(payload)
  if (!r.ok) return r.ack
  if (!valid(r.input)) return refused(r.cid, 'invalid_request', describeValidationError(valid.errors))
  await chat.conversations.typing(me.domainId, me.userid, r.input.to_userid)
  return null
}
