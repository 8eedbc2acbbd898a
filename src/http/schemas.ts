// Request and response shapes of the REST API. fastify validates with them and the OpenAPI
// document at /api/v1/openapi.json is generated from them: one definition, not two.
import { Type, type TSchema } from '@sinclair/typebox'
import { DOMAIN_ID_PATTERN } from '../chat/domains.ts'
import { MAX_ALLOWED_ORIGINS } from '../chat/origins.ts'
import { PROFILE_NAME_MAX_CHARS, PROFILE_URL_MAX_CHARS } from '../chat/profiles.ts'
import { HISTORY_DEFAULT_LIMIT, HISTORY_MAX_LIMIT, MessageId, StringEnum, UserId } from '../chat/schemas.ts'

export { ApiSend } from '../chat/schemas.ts'

export const UnixSeconds = Type.Integer({ description: 'unix seconds' })

export const ErrorBody = Type.Object({
  error: Type.Object({ code: Type.String({ description: 'snake_case, stable: branch on it' }), message: Type.String() })
})

export const DomainId = Type.String({ pattern: DOMAIN_ID_PATTERN, description: 'lower-case letters, digits, dots and dashes' })
export const DomainParams = Type.Object({ domain: DomainId })
export const UserParams = Type.Object({ domain: DomainId, userid: UserId })

export const Domain = Type.Object({
  id: Type.String(),
  name: Type.String(),
  createdAt: UnixSeconds,
  retentionDays: Type.Integer({ description: 'messages older than this are deleted; 0: the server\'s MQCHAT_RETENTION_DAYS' }),
  allowedOrigins: Type.Array(Type.String(), { description: 'browser origins allowed (CORS, MQTT over WebSocket); empty: any' }),
  contacts: StringEnum(['everyone', 'friends'], { description: 'who its users may message, call, push and see online: anyone in the domain, or only their friends' })
})
/** Days a domain may keep messages: 0 (the server's setting) to 100 years. */
export const RETENTION_DAYS_MAX = 36_500
export const DomainPatchBody = Type.Object({
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  retentionDays: Type.Optional(Type.Integer({ minimum: 0, maximum: RETENTION_DAYS_MAX, description: 'messages (and their files) older than this many days are deleted; 0: the server\'s MQCHAT_RETENTION_DAYS (0 there too: kept forever)' })),
  allowedOrigins: Type.Optional(Type.Array(Type.String({ maxLength: 300 }), { maxItems: MAX_ALLOWED_ORIGINS, description: 'origins such as https://www.example.com whose pages may call the API with a user\'s token and connect over WebSocket; empty: any' })),
  contacts: Type.Optional(StringEnum(['everyone', 'friends'], { description: '"friends": a user may message, call and push only its friends (else forbidden) and sees only their presence; "everyone" (the default): anyone in the domain' }))
}, { additionalProperties: false })
export const NewDomainBody = Type.Object({
  id: DomainId,
  name: Type.String({ minLength: 1, maxLength: 200 })
}, { additionalProperties: false })
export const CreatedDomain = Type.Object({
  id: Type.String(),
  name: Type.String(),
  apiKey: Type.String({ description: 'the domain key; shown only now' }),
  tokenSecret: Type.String({ description: 'signs your users\' tokens (HS256); keep it on your server' })
})

const profileFields = {
  name: Type.Optional(Type.String({ maxLength: PROFILE_NAME_MAX_CHARS, 'x-well-formed': true, description: 'shown to other users; "" clears it' })),
  avatar: Type.Optional(Type.String({ maxLength: PROFILE_URL_MAX_CHARS, description: 'picture URL, http(s) only; "" clears it' })),
  link: Type.Optional(Type.String({ maxLength: PROFILE_URL_MAX_CHARS, description: 'profile page URL, http(s) only; "" clears it' }))
}
export const ProfileBody = Type.Object(profileFields, { additionalProperties: false })

export const TokenBody = Type.Object({
  ttlSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 31_536_000, default: 3600, description: 'lifetime, 1 s to 1 year; default 3600' })),
  ...profileFields
}, { additionalProperties: false })
export const Token = Type.Object({ token: Type.String({ description: 'the MQTT password for this user' }), expiresAt: UnixSeconds })

export const PresenceStatusSchema = StringEnum(['online', 'away', 'busy', 'offline'])
export const PresenceQuery = Type.Object({ status: Type.Optional(PresenceStatusSchema) }, { additionalProperties: false })
export const PresenceList = Type.Object({
  users: Type.Array(Type.Object({ userid: Type.Integer(), status: PresenceStatusSchema, timestamp: UnixSeconds }))
})

export const UserSchema = Type.Object({
  userid: Type.Integer(),
  name: Type.Union([Type.String(), Type.Null()]),
  avatar: Type.Union([Type.String(), Type.Null()]),
  link: Type.Union([Type.String(), Type.Null()]),
  status: PresenceStatusSchema,
  timestamp: Type.Integer({ description: 'unix seconds of the last presence change (0: never connected)' })
})
export const USERS_MAX_LIMIT = 1000
export const UsersQuery = Type.Object({
  status: Type.Optional(PresenceStatusSchema),
  after: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'userids above this: the previous page\'s `next`' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: USERS_MAX_LIMIT, default: 100 }))
}, { additionalProperties: false })
export const UserList = Type.Object({
  users: Type.Array(UserSchema),
  next: Type.Union([Type.Integer(), Type.Null()], { description: 'pass as `after` for the next page; null on the last page' })
})

export const MessageEventSchema = Type.Object({
  from_userid: Type.Integer(),
  message: Type.Object({
    id: Type.Integer(),
    message: Type.String(),
    p1: Type.String(),
    p2: Type.String(),
    p3: Type.String(),
    timestamp: UnixSeconds,
    type: Type.Integer()
  }),
  to_userid: Type.Integer()
})

export const MessagesQuery = Type.Object({
  userid: Type.Optional(UserId),
  peer: Type.Optional(UserId),
  before: Type.Optional(MessageId),
  after: Type.Optional(MessageId),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: HISTORY_MAX_LIMIT, default: HISTORY_DEFAULT_LIMIT }))
}, { additionalProperties: false })
export const MessageList = Type.Object({ messages: Type.Array(MessageEventSchema) })

export const CallbackKind = StringEnum(['presence', 'messages'])
export const CallbackParams = Type.Object({ domain: DomainId, kind: CallbackKind })

/** The standard error answers of an authenticated call, for the OpenAPI document. */
export function withErrors (ok: Record<number, TSchema>): Record<number, TSchema> {
  return { ...ok, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody }
}

export const CONVERSATIONS_MAX_LIMIT = 200
export const ConversationsQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: CONVERSATIONS_MAX_LIMIT, default: 50 })),
  before: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'the next page: conversations whose last message id is below this (the last one\'s `last.message.id`)' }))
}, { additionalProperties: false })
export const ConversationList = Type.Object({
  conversations: Type.Array(Type.Object({
    peer: UserSchema,
    last: Type.Union([MessageEventSchema, Type.Null()]),
    unread: Type.Integer({ description: 'the peer\'s messages above readUpTo' }),
    readUpTo: Type.Integer({ description: 'this user has read the peer\'s messages up to this id' }),
    peerReadUpTo: Type.Integer({ description: 'the peer has read this user\'s messages up to this id' })
  }))
})
export const BlockParams = Type.Object({ domain: DomainId, userid: UserId, peer: UserId })
export const FriendParams = BlockParams
export const FriendList = Type.Object({ friends: Type.Array(UserSchema, { description: 'by userid' }) })

/** SPEC §10.1: a browser's `PushSubscription.toJSON()`, as it gives it. */
export const PushSubscriptionBody = Type.Object({
  endpoint: Type.String({ minLength: 1, maxLength: 2048, description: 'the push service\'s URL for this browser: https (http to a loopback host only with MQCHAT_CALLBACK_ALLOW_PRIVATE), checked as a callback URL is' }),
  expirationTime: Type.Optional(Type.Union([Type.Integer(), Type.Null()], { description: 'as the browser gives it; not used' })),
  keys: Type.Object({
    p256dh: Type.String({ maxLength: 200, description: 'the browser\'s P-256 public key, base64url' }),
    auth: Type.String({ maxLength: 100, description: 'its 16-byte auth secret, base64url' })
  }, { additionalProperties: false })
}, { additionalProperties: false })
export const PushUnsubscribeBody = Type.Object({
  endpoint: Type.String({ minLength: 1, maxLength: 2048 })
}, { additionalProperties: false })
export const PushSubscriptionView = Type.Object({ endpoint: Type.String(), createdAt: UnixSeconds })
export const PushKey = Type.Object({ publicKey: Type.String({ description: 'the server\'s VAPID public key, base64url: PushManager.subscribe\'s applicationServerKey' }) })
