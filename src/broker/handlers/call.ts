// `chat/D/U/call` (SPEC §10.2): relayed to the peer on its `signal` topic; answered only when
// refused (`rate_limited`, `invalid_request`, `blocked`, `forbidden`), with the signal's cid.
import { compile, describeValidationError, MqttCall } from '../../chat/schemas.ts'
import { isAppError } from '../../errors.ts'
import { cidOfPayload, read, refused, type Ack, type RequestContext } from './request.ts'

const valid = compile(MqttCall)

export async function call ({ chat, log, me }: RequestContext, payload: Buffer): Promise<Ack | null> {
  // Counted before validation: a flood of garbage is limited like a flood of signals.
  const limited = await chat.calls.allow(me.domainId, me.userid)
  if (limited !== null) return { cid: cidOfPayload(payload), error: limited }
  const r = read(payload)
  if (!r.ok) return r.ack
  const { input, cid } = r
  if (!valid(input)) return refused(cid, 'invalid_request', describeValidationError(valid.errors))
  try {
    const refusal = await chat.calls.fromUser(me.domainId, me.userid, input)
    return refusal === null ? null : { cid, error: refusal }
  } catch (err) {
    log.warn({ err, domainId: me.domainId, userid: me.userid }, 'call signal not relayed')
    return refused(cid, isAppError(err) && err.code === 'unavailable' ? 'unavailable' : 'internal', 'the call signal was not relayed; send it again')
  }
}
