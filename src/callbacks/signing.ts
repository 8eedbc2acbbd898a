// Standard Webhooks signatures (SPEC §4.3): `v1,<base64 HMAC-SHA256>` of
// `{webhook-id}.{webhook-timestamp}.{body}`, keyed by the secret `whsec_<base64 key>`.
// Unlike senders that sign the body alone, the id and the time are signed too, so a captured
// request cannot be replayed later or passed off as another event. Pure.
import { createHmac, randomBytes } from 'node:crypto'

const PREFIX = 'whsec_'

/** 24 random bytes, as Svix and the Standard Webhooks libraries generate them. */
export const newSigningSecret = (): string => PREFIX + randomBytes(24).toString('base64')

export function sign (secret: string, webhookId: string, timestampSec: number, body: string): string {
  const key = Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, 'base64')
  return 'v1,' + createHmac('sha256', key).update(`${webhookId}.${timestampSec}.${body}`).digest('base64')
}

/**
 * The `webhook-signature` header: during a rotation both the new and the old secret sign,
 * separated by a space, so a receiver still configured with the old one keeps verifying.
 */
export function signatureHeader (secrets: string[], webhookId: string, timestampSec: number, body: string): string {
  return secrets.map((s) => sign(s, webhookId, timestampSec, body)).join(' ')
}
