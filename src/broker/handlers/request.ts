// What every request a user publishes (SPEC §3: chat/D/U/<request>) shares: its payload read
// as a JSON object, the client's `cid` found even in a refused one, and the answer's shape on
// `chat/D/U/ack`. Each request is a file of this folder: parse, check, ask the chat, answer.
import { isUtf8 } from 'node:buffer'
import type { Ack as WireAck } from '../../../protocol/wire.ts'
import type { ChatService } from '../../chat/index.ts'
import type { ErrorCode } from '../../errors.ts'
import type { Logger } from '../../log.ts'
import type { Me } from '../topics.ts'

export interface AckError { code: ErrorCode, message: string }

/** What the server answers on `chat/D/U/ack` (SPEC §3), with its own error codes. */
export type Ack = WireAck<ErrorCode>

/** A request's handler: null when there is nothing to answer (applied, and the request's
 *  effect is the answer: a presence change, a signal). */
export type Handler = (ctx: RequestContext, payload: Buffer) => Promise<Ack | null>

export interface RequestContext {
  chat: ChatService
  log: Logger
  me: Me
}

/** The payload, read: the object (unchecked) and its cid, or the refusal with its cid. */
export type Read = { ok: true, input: unknown, cid: unknown } | { ok: false, ack: Ack }

/** Reads a payload as a JSON object's text. */
export function read (payload: Buffer): Read {
  const input = parse(payload)
  const cid = cidOf(input)
  if (!isUtf8(payload)) return { ok: false, ack: { cid, error: notUtf8 } }
  if (input === NOT_JSON) return { ok: false, ack: { cid: null, error: notJson } }
  return { ok: true, input, cid }
}

/** The cid of a payload, however bad the rest of it is (a refused request can still be matched). */
export function cidOfPayload (payload: Buffer): unknown {
  return cidOf(parse(payload))
}

export const refused = (cid: unknown, code: ErrorCode, message: string): Ack => ({ cid, error: { code, message } })

const NOT_JSON = Symbol('not json')
const notJson: AckError = { code: 'invalid_json', message: 'payload must be a JSON object' }
/** Bytes that are not UTF-8 would be decoded to U+FFFD and stored as something the user
 *  never wrote: refused instead, nothing silently changed. */
const notUtf8: AckError = { code: 'invalid_json', message: 'payload must be UTF-8: it has bytes that are not (JSON text is UTF-8, RFC 8259 §8.1)' }

function parse (payload: Buffer): unknown {
  try {
    return JSON.parse(payload.toString('utf8'))
  } catch {
    return NOT_JSON
  }
}

/** The client's `cid`, when it sent a usable one, so that even an error ack can be matched. */
function cidOf (input: unknown): unknown {
  if (typeof input !== 'object' || input === null) return null
  const cid = (input as { cid?: unknown }).cid
  return (typeof cid === 'string' && cid.length <= 256) || typeof cid === 'number' ? cid : null
}
