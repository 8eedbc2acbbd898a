// The shapes of what users and customers send (SPEC §2, §3). One definition serves three
// purposes: the REST API validates its bodies with it, the MQTT handlers validate payloads
// with it, and the OpenAPI document is generated from it.
import { Type, type Static, type TSchema } from '@sinclair/typebox'
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'

/** userid: an integer from 1 to 2^53−1 (SPEC §2). */
export const UserId = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'the user id your website uses (data-user-id)' })

export const MESSAGE_MAX_CHARS = 4096
export const PARAM_MAX_CHARS = 1024
export const HISTORY_DEFAULT_LIMIT = 50
export const HISTORY_MAX_LIMIT = 500

/** An enum as JSON Schema `enum`, so an error lists the allowed values. */
export function StringEnum<T extends string[]> (values: [...T], opts: { description?: string } = {}) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: values, ...opts })
}

/** A message id: positive, within what JSON numbers carry exactly. */
export const MessageId = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })

/** The client's own id for a request, echoed back in its `ack`. */
const Cid = Type.Union([Type.String({ maxLength: 256 }), Type.Number(), Type.Null()], { description: 'client-chosen id, echoed in the ack' })

/** A string that is well-formed Unicode: a lone surrogate would be stored as U+FFFD, and the
 *  history would then differ from what the recipient and the callback got. */
const Text = (maxLength: number) => Type.String({ maxLength, 'x-well-formed': true })

const messageFields = {
  to_userid: UserId,
  message: Text(MESSAGE_MAX_CHARS),
  type: Type.Integer({ minimum: 0, maximum: 5, description: '0 text & smileys, 1 sticker, 2 picture from disk, 3 record, 4 picture from cam, 5 audio/video notification' }),
  p1: Type.Optional(Text(PARAM_MAX_CHARS)),
  p2: Type.Optional(Text(PARAM_MAX_CHARS)),
  p3: Type.Optional(Text(PARAM_MAX_CHARS))
}

/** `chat/D/U/send` */
export const MqttSend = Type.Object({ ...messageFields, cid: Type.Optional(Cid) }, { additionalProperties: false })
export type MqttSend = Static<typeof MqttSend>

/** `POST /api/v1/domains/{domain}/messages` */
export const ApiSend = Type.Object({ from_userid: UserId, ...messageFields }, { additionalProperties: false })
export type ApiSend = Static<typeof ApiSend>

/** `chat/D/U/status` */
export const MqttStatus = Type.Object({
  status: StringEnum(['online', 'away', 'busy']),
  cid: Type.Optional(Cid)
}, { additionalProperties: false })
export type MqttStatus = Static<typeof MqttStatus>

/** `chat/D/U/history`: `{peer, before}` pages a conversation back; `{after}` catches up. */
export const MqttHistory = Type.Object({
  peer: Type.Optional(UserId),
  before: Type.Optional(MessageId),
  after: Type.Optional(MessageId),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: HISTORY_MAX_LIMIT })),
  cid: Type.Optional(Cid)
}, { additionalProperties: false })
export type MqttHistory = Static<typeof MqttHistory>

/** `chat/D/U/typing` */
export const MqttTyping = Type.Object({ to_userid: UserId, cid: Type.Optional(Cid) }, { additionalProperties: false })
export type MqttTyping = Static<typeof MqttTyping>

/** `chat/D/U/read`: U has read every message from `peer` up to `up_to`. */
export const MqttRead = Type.Object({ peer: UserId, up_to: MessageId, cid: Type.Optional(Cid) }, { additionalProperties: false })
export type MqttRead = Static<typeof MqttRead>

/** SPEC §10.2: an SDP offer or answer is at most 16 KB. */
export const SDP_MAX_CHARS = 16 * 1024
/** A call id: the caller's (a UUID, say); it becomes the type 5 record's `p1`. */
export const CALL_ID_MAX_CHARS = 64

/** `RTCIceCandidate.toJSON()`: what a browser's `icecandidate` event gives. */
const IceCandidate = Type.Object({
  candidate: Type.String({ maxLength: 1024 }),
  sdpMid: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Null()])),
  sdpMLineIndex: Type.Optional(Type.Union([Type.Integer({ minimum: 0, maximum: 65535 }), Type.Null()])),
  usernameFragment: Type.Optional(Type.Union([Type.String({ maxLength: 256 }), Type.Null()]))
}, { additionalProperties: false })

/** `chat/D/U/call` (SPEC §10.2): one signal of a call, relayed to `to_userid`. */
export const MqttCall = Type.Object({
  to_userid: UserId,
  call: Type.String({ minLength: 1, maxLength: CALL_ID_MAX_CHARS, pattern: '^[A-Za-z0-9_.:-]+$', description: 'the call id the caller chose (letters, digits, _ . : -)' }),
  kind: StringEnum(['offer', 'answer', 'ice', 'hangup', 'decline']),
  sdp: Type.Optional(Type.String({ maxLength: SDP_MAX_CHARS })),
  candidate: Type.Optional(IceCandidate),
  video: Type.Optional(Type.Boolean()),
  cid: Type.Optional(Cid)
}, { additionalProperties: false })
export type MqttCall = Static<typeof MqttCall>

/** Strict: a wrong type is an error, never coerced ("1" is not 1). */
export const strictAjv = new Ajv({ allErrors: false, coerceTypes: false, useDefaults: false, removeAdditional: false, strict: false })
strictAjv.addKeyword({
  keyword: 'x-well-formed',
  schemaType: 'boolean',
  validate: (want: boolean, data: unknown) => !want || typeof data !== 'string' || data.isWellFormed()
})

export interface Validator<T> {
  (data: unknown): data is T
  errors?: ErrorObject[] | null
}

export function compile<T extends TSchema> (schema: T): Validator<Static<T>> {
  return strictAjv.compile(schema) as ValidateFunction<Static<T>>
}

/**
 * One readable sentence for the first validation error, naming the field:
 * `to_userid must be <= 9007199254740991`, `unknown field "msg"`, `missing field "type"`.
 */
export function describeValidationError (errors: ErrorObject[] | null | undefined, where = ''): string {
  const e = errors?.[0]
  if (e === undefined) return 'invalid input'
  const prefix = where === '' ? '' : `${where}`
  const field = e.instancePath.replace(/^\//, '').replaceAll('/', '.')
  const name = (f: string): string => [prefix, f].filter((x) => x !== '').join('.')
  if (e.keyword === 'additionalProperties') return `unknown field "${name(joinField(field, String(e.params.additionalProperty)))}"`
  if (e.keyword === 'required') return `missing field "${name(joinField(field, String(e.params.missingProperty)))}"`
  const subject = field === '' ? (prefix === '' ? 'payload' : prefix) : name(field)
  if (e.keyword === 'anyOf' || e.keyword === 'union') return `${subject} has the wrong type or value`
  if (e.keyword === 'x-well-formed') return `${subject} must be well-formed Unicode (it has a lone surrogate)`
  if (e.keyword === 'enum') return `${subject} must be one of ${(e.params.allowedValues as unknown[]).join(', ')}`
  return `${subject} ${e.message ?? 'is invalid'}`
}

const joinField = (parent: string, child: string): string => parent === '' ? child : `${parent}.${child}`
