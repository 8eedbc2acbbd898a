// What both stores read and write the same way (same column names, same defaults).
import type { CallbackPatch, ConversationRow, UserRow } from './types.ts'

/** The column of each field a callback patch may set. */
export const CALLBACK_PATCH_COLUMNS: Record<keyof CallbackPatch, string> = {
  url: 'url',
  enabled: 'enabled',
  disabledReason: 'disabled_reason',
  disabledAt: 'disabled_at',
  signingSecret: 'signing_secret',
  previousSecret: 'previous_secret',
  previousSecretUntil: 'previous_secret_until'
}

/** A user as the user queries read it (presence LEFT JOIN profiles). */
export interface DbUser { userid: number, status: UserRow['status'] | null, changedAt: number | null, name: string | null, avatar: string | null, link: string | null }

/** A user without a presence row yet is offline since 0. */
export const toUser = (r: DbUser): UserRow => ({
  userid: r.userid,
  status: r.status ?? 'offline',
  changedAt: r.changedAt ?? 0,
  name: r.name,
  avatar: r.avatar,
  link: r.link
})

/** A conversation as both stores' list query reads it: the peer's user columns, its last message's m* columns. */
export interface DbConversation extends Omit<DbUser, 'userid'> {
  peer: number
  mId: number | null
  mFrom: number
  mTo: number
  mType: number
  mMessage: string
  mP1: string
  mP2: string
  mP3: string
  mAt: number
  unread: number
  readUpTo: number
  peerReadUpTo: number
}

export const toConversation = (r: DbConversation, domainId: string): ConversationRow => ({
  peer: toUser({ userid: r.peer, status: r.status, changedAt: r.changedAt, name: r.name, avatar: r.avatar, link: r.link }),
  last: r.mId === null
    ? null
    : { id: r.mId, domainId, fromUserid: r.mFrom, toUserid: r.mTo, type: r.mType, message: r.mMessage, p1: r.mP1, p2: r.mP2, p3: r.mP3, at: r.mAt },
  unread: r.unread,
  readUpTo: r.readUpTo,
  peerReadUpTo: r.peerReadUpTo
})
