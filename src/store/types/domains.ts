// The domains family: a domain's row, what creates it and what a patch may change (SPEC §10.3).

/** SPEC §10.3: who a domain's users may reach: anyone in it, or only their friends. */
export type ContactsMode = 'everyone' | 'friends'

export interface DomainRow {
  id: string
  name: string
  tokenSecret: string
  /** unix ms */
  createdAt: number
  /** messages older than this many days are deleted; 0: the server-wide setting */
  retentionDays: number
  /** browser origins allowed (CORS, MQTT over WebSocket); empty: any */
  allowedOrigins: string[]
  /** SPEC §10.3: with 'friends', users message, call, push and see the presence of their friends only */
  contacts: ContactsMode
}

/** What `PATCH …/domains/{domain}` may change; absent fields are kept. */
export interface DomainPatch {
  name?: string
  retentionDays?: number
  allowedOrigins?: string[]
  contacts?: ContactsMode
}

export interface NewDomain {
  id: string
  name: string
  apiKeyHash: string
  tokenSecret: string
  createdAt: number
}

export interface DomainStore {
  createDomain(d: NewDomain): Promise<void>
  getDomain(id: string): Promise<DomainRow | null>
  listDomains(): Promise<DomainRow[]>
  domainIdByKeyHash(apiKeyHash: string): Promise<string | null>
  setDomainKeyHash(id: string, apiKeyHash: string): Promise<void>
  /** Applies the patch; null when there is no such domain. */
  updateDomain(id: string, patch: DomainPatch): Promise<DomainRow | null>
}
