// What both stores read and write the same way (same column names, same defaults).
import type { CallbackPatch, UserRow } from './types.ts'

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
