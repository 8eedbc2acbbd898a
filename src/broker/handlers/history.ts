// `chat/D/U/history` (SPEC §3): a page of the user's messages (with `peer`: of one
// conversation), always answered.
import type { MessageEvent } from '../../chat/events.ts'
import { compile, describeValidationError, HISTORY_DEFAULT_LIMIT, MqttHistory } from '../../chat/schemas.ts'
import { cidOfPayload, read, refused, type Ack, type RequestContext } from './request.ts'

const valid = compile(MqttHistory)

/**
 * Largest history answer: its messages are cut (newest or oldest kept, by direction) so the
 * JSON stays under this; the client pages on from the last id it got. 500 messages at their
 * limits would be ~45 MB.
 */
export const HISTORY_MAX_BYTES = 1024 * 1024

export async function history ({ chat, me }: RequestContext, payload: Buffer): Promise<Ack> {
  if (!chat.allow(me.domainId, me.userid, 'history')) return refused(cidOfPayload(payload), 'rate_limited', 'too many history requests: slow down')
  const r = read(payload)
  if (!r.ok) return r.ack
  const { input, cid } = r
  if (!valid(input)) return refused(cid, 'invalid_request', describeValidationError(valid.errors))
  if (input.before !== undefined && input.after !== undefined) return refused(cid, 'invalid_request', 'give before or after, not both')
  const messages = await chat.messages.history({
    domainId: me.domainId, userid: me.userid, peer: input.peer, before: input.before, after: input.after, limit: input.limit ?? HISTORY_DEFAULT_LIMIT
  })
  return { cid, messages: withinBytes(messages, HISTORY_MAX_BYTES) }
}

/** The first messages of a page whose JSON fits in `max` bytes (always at least one). */
function withinBytes (messages: MessageEvent[], max: number): MessageEvent[] {
  let bytes = 0
  for (let i = 0; i < messages.length; i++) {
    bytes += Buffer.byteLength(JSON.stringify(messages[i])) + 1
    if (bytes > max && i > 0) return messages.slice(0, i)
  }
  return messages
}
