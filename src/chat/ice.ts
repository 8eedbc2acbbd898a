// The ICE servers a user's browser is given for a call (SPEC §10.2): MQCHAT_ICE_SERVERS as it
// is, and with MQCHAT_TURN_SECRET each TURN entry carries credentials made for this user,
// valid one hour: coturn's `use-auth-secret` scheme ("TURN REST API",
// draft-uberti-behave-turn-rest-00): the username is `<expiry unix seconds>:<userid>`, the
// credential base64(HMAC-SHA1(secret, username)). coturn checks the same HMAC with its
// `static-auth-secret` and refuses the username once its expiry has passed; nothing is stored.
// Pure: tested with a literal table.
import crypto from 'node:crypto'
import type { IceServer } from '../config.ts'

/** SPEC §10.2: TURN credentials are short-lived, 1 h. */
export const TURN_CREDENTIAL_TTL_S = 3600

export function turnCredential (secret: string, userid: number, nowMs: number, ttlS = TURN_CREDENTIAL_TTL_S): { username: string, credential: string } {
  const username = `${Math.floor(nowMs / 1000) + ttlS}:${userid}`
  return { username, credential: crypto.createHmac('sha1', secret).update(username).digest('base64') }
}

const isTurn = (s: IceServer): boolean => (typeof s.urls === 'string' ? [s.urls] : s.urls).some((u) => u.startsWith('turn'))

/** `{"iceServers": …}` for one user now. */
export function iceServersFor (servers: readonly IceServer[], turnSecret: string | null, userid: number, nowMs: number): IceServer[] {
  return servers.map((s) => turnSecret !== null && isTurn(s) ? { urls: s.urls, ...turnCredential(turnSecret, userid, nowMs) } : { ...s })
}
