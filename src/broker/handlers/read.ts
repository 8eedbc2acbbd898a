// `chat/D/U/read` (SPEC §3): the read marker, stored and signalled to the peer; answered only
// when refused.
import { readRefusal } from '../../chat/conversations.ts'
import { compile, describeValidationError, MqttRead } from '../../chat/schemas.ts'
import { isAppError } from '../../errors.ts'
import { cidOfPayload, read as readPayload, refused, type Ack, type RequestContext } from './request.ts'

const valid = compile(MqttRead)

export async function read ({ chat, log, me }: RequestContext, payload: Buffer): Promise<Ack | null> {
  if (!chat.allow(me.domainId, me.userid, 'read')) return refused(cidOfPayload(payload), 'rate_limited', 'too many read markers: slow down')
  const r = readPayload(payload)
  if (!r.ok) return r.ack
  const { input, cid } = r
  if (!valid(input)) return refused(cid, 'invalid_request', describeValidationError(valid.errors))
  try {
    const m = await chat.conversations.read(me.domainId, me.userid, input.peer, input.up_to)
    return m.ok ? null : refused(cid, 'invalid_request', readRefusal(m, input.peer, input.up_to))
  } catch (err) {
    log.warn({ err, domainId: me.domainId, userid: me.userid }, 'read marker not saved')
    return refused(cid, isAppError(err) && err.code === 'unavailable' ? 'unavailable' : 'internal', 'the read marker was not saved; send it again')
  }
}
