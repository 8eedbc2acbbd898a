// What a push carries (SPEC §10.1): `{"title","body","domain","peer","id"}`, the notification
// the service worker shows. Pure: tested with a table.

/** A push service takes at most 4,096 bytes of encrypted payload (RFC 8030 §7.2 lets it
 *  refuse more): the text is cut to this many characters (4 bytes each at worst, with room
 *  for the rest and the encryption's overhead). */
export const BODY_MAX_CHARS = 500

export interface PushPayload {
  title: string
  body: string
  domain: string
  /** the sender: the conversation to open */
  peer: number
  /** the message id */
  id: number
}

/** The notification's text for a message of `type` (SPEC §4.2 types): words for what is not text. */
export function bodyFor (type: number, message: string): string {
  switch (type) {
    case 0: return cut(message, BODY_MAX_CHARS)
    case 1: return 'Sticker'
    case 2: case 4: return 'Picture'
    case 3: return 'Voice message'
    case 5: return 'Call'
    default: return 'New message'
  }
}

/** What the job keeps (the sender's name is read when the push is sent, off the message's path). */
export function draftFor (domainId: string, e: { from_userid: number, message: { id: number, message: string, type: number } }): Omit<PushPayload, 'title'> {
  return { body: bodyFor(e.message.type, e.message.message), domain: domainId, peer: e.from_userid, id: e.message.id }
}

/** The payload as sent: the sender's name first (its profile's, else as the widget names it). */
export function payloadFor (draft: Omit<PushPayload, 'title'>, senderName: string | null): PushPayload {
  const title = senderName !== null && senderName.trim() !== '' ? cut(senderName, 100) : `User ${draft.peer}`
  return { title, body: draft.body, domain: draft.domain, peer: draft.peer, id: draft.id }
}

/** At most `max` characters (code points, never half a pair), with an ellipsis when cut. */
function cut (text: string, max: number): string {
  const chars = [...text]
  return chars.length <= max ? text : chars.slice(0, max - 1).join('') + '…'
}
