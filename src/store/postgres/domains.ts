// Domains on PostgreSQL: created once (a second one with the same id is `domain_exists`),
// found by id or by key hash, patched field by field.
import { AppError } from '../../errors.ts'
import type { DomainPatch, DomainRow, NewDomain } from '../types.ts'
import type { Query } from './tx.ts'

const DOMAIN_COLS = 'id, name, token_secret AS "tokenSecret", created_at AS "createdAt", retention_days AS "retentionDays", allowed_origins AS "allowedOrigins", contacts'

export class DomainsPg {
  constructor (private readonly q: Query) {}

  async create (d: NewDomain): Promise<void> {
    try {
      await this.q('INSERT INTO domains (id, name, api_key_hash, token_secret, created_at) VALUES ($1, $2, $3, $4, $5)', [d.id, d.name, d.apiKeyHash, d.tokenSecret, d.createdAt])
    } catch (err) {
      if ((err as { code?: string }).code === '23505' && (err as { constraint?: string }).constraint === 'domains_pkey') {
        throw new AppError('domain_exists', `domain "${d.id}" already exists`)
      }
      throw err
    }
  }

  async get (id: string): Promise<DomainRow | null> {
    return (await this.q<DomainRow>(`SELECT ${DOMAIN_COLS} FROM domains WHERE id = $1`, [id])).rows[0] ?? null
  }

  async list (): Promise<DomainRow[]> {
    return (await this.q<DomainRow>(`SELECT ${DOMAIN_COLS} FROM domains ORDER BY id`)).rows
  }

  async update (id: string, patch: DomainPatch): Promise<DomainRow | null> {
    return (await this.q<DomainRow>(`UPDATE domains SET name = coalesce($2, name), retention_days = coalesce($3, retention_days),
      allowed_origins = coalesce($4::jsonb, allowed_origins), contacts = coalesce($5, contacts) WHERE id = $1 RETURNING ${DOMAIN_COLS}`,
    [id, patch.name ?? null, patch.retentionDays ?? null, patch.allowedOrigins === undefined ? null : JSON.stringify(patch.allowedOrigins), patch.contacts ?? null])).rows[0] ?? null
  }

  async idByKeyHash (hash: string): Promise<string | null> {
    return (await this.q<{ id: string }>('SELECT id FROM domains WHERE api_key_hash = $1', [hash])).rows[0]?.id ?? null
  }

  async setKeyHash (id: string, hash: string): Promise<void> {
    await this.q('UPDATE domains SET api_key_hash = $1 WHERE id = $2', [hash, id])
  }
}
