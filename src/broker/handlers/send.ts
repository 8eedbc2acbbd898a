// `chat/D/U/send` (SPEC §3): always answered, with the stored message's event or an error.
import { compile, describeValidationError, MqttSend } from '../../chat/schemas.ts'
import { isAppError } from '../../errors.ts'
import { cidOfPayload, read, refused, type Ack, type RequestContext } from './request.ts'

const valid = compile(MqttSend)

export async function send ({ chat, log, me }: RequestContext, payload: Buffer): Promise<Ack> {
  // Counted before validation: a flood of garbage is limited like a flood of messages.
  if (!await chat.allowSend(me.domainId, me.userid)) return refused(cidOfPayload(payload), 'rate_limited', 'too many messages: slow down')
  const r = read(payload)
  if (!r.ok) return r.ack
  const { input, cid } = r
  if (!valid(input)) return refused(cid, 'invalid_request', describeValidationError(valid.errors))
  try {
    return { cid, event: await chat.messages.send(me.domainId, me.userid, input) }
  } catch (err) {
    // SPEC §3, §10.3: refused by the recipient's block, or not a friend in a friends-only
    // domain; an attachment that is not a file of the domain
    if (isAppError(err) && (err.code === 'blocked' || err.code === 'forbidden' || err.code === 'invalid_attachment')) return { cid, error: err.toJSON() }
    if (isAppError(err) && err.code === 'unavailable') {
      log.warn({ domainId: me.domainId, userid: me.userid }, 'message not stored: database unreachable')
      return refused(cid, 'unavailable', 'the message was not stored (the database cannot be reached); send it again')
    }
    log.error({ err, domainId: me.domainId, userid: me.userid }, 'message not saved')
    return refused(cid, 'internal', 'the message could not be saved; send it again')
  }
}
