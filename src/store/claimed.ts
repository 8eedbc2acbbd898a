// A claimed event as both stores read it from their claim query (same column names), with
// the secrets that sign it now.
import { activeSecrets } from './secrets.ts'
import type { ClaimedEvent, EventKind } from './types.ts'

export interface ClaimRow {
  id: number
  domain_id: string
  kind: EventKind
  userid: number
  webhook_id: string
  body: string
  created_at: number
  attempts: number
  url: string
  signing_secret: string
  previous_secret: string | null
  previous_secret_until: number | null
}

export function claimedEvent (r: ClaimRow, nowMs: number): ClaimedEvent {
  return {
    id: r.id,
    domainId: r.domain_id,
    kind: r.kind,
    userid: r.userid,
    webhookId: r.webhook_id,
    body: r.body,
    createdAt: r.created_at,
    attempts: r.attempts,
    url: r.url,
    secrets: activeSecrets({ signingSecret: r.signing_secret, previousSecret: r.previous_secret, previousSecretUntil: r.previous_secret_until }, nowMs)
  }
}
