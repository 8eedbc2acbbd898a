// Domains on SQLite: created once (a second one with the same id is `domain_exists`), found by
// id or by key hash, patched field by field.
import type Database from 'better-sqlite3'
import { AppError } from '../../errors.ts'
import type { DomainPatch, DomainRow, NewDomain } from '../types.ts'

interface DbDomain { id: string, name: string, tokenSecret: string, createdAt: number, retentionDays: number, allowedOrigins: string, contacts: DomainRow['contacts'] }
const toDomain = (r: DbDomain): DomainRow => ({ ...r, allowedOrigins: JSON.parse(r.allowedOrigins) })
const DOMAIN_COLS = 'id, name, token_secret AS tokenSecret, created_at AS createdAt, retention_days AS retentionDays, allowed_origins AS allowedOrigins, contacts'

export class DomainsSql {
  private readonly q

  constructor (db: Database.Database) {
    this.q = {
      insertDomain: db.prepare('INSERT INTO domains (id, name, api_key_hash, token_secret, created_at) VALUES (?, ?, ?, ?, ?)'),
      getDomain: db.prepare(`SELECT ${DOMAIN_COLS} FROM domains WHERE id = ?`),
      listDomains: db.prepare(`SELECT ${DOMAIN_COLS} FROM domains ORDER BY id`),
      updateDomain: db.prepare(`UPDATE domains SET name = coalesce(@name, name), retention_days = coalesce(@retentionDays, retention_days),
        allowed_origins = coalesce(@allowedOrigins, allowed_origins), contacts = coalesce(@contacts, contacts) WHERE id = @id`),
      domainByKey: db.prepare('SELECT id FROM domains WHERE api_key_hash = ?'),
      setDomainKey: db.prepare('UPDATE domains SET api_key_hash = ? WHERE id = ?')
    }
  }

  create (d: NewDomain): void {
    try {
      this.q.insertDomain.run(d.id, d.name, d.apiKeyHash, d.tokenSecret, d.createdAt)
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        throw new AppError('domain_exists', `domain "${d.id}" already exists`)
      }
      throw err
    }
  }

  get (id: string): DomainRow | null {
    const r = this.q.getDomain.get(id) as DbDomain | undefined
    return r === undefined ? null : toDomain(r)
  }

  list (): DomainRow[] {
    return (this.q.listDomains.all() as DbDomain[]).map(toDomain)
  }

  update (id: string, patch: DomainPatch): DomainRow | null {
    this.q.updateDomain.run({
      id,
      name: patch.name ?? null,
      retentionDays: patch.retentionDays ?? null,
      allowedOrigins: patch.allowedOrigins === undefined ? null : JSON.stringify(patch.allowedOrigins),
      contacts: patch.contacts ?? null
    })
    return this.get(id)
  }

  idByKeyHash (hash: string): string | null {
    const row = this.q.domainByKey.get(hash) as { id: string } | undefined
    return row?.id ?? null
  }

  setKeyHash (id: string, hash: string): void {
    this.q.setDomainKey.run(hash, id)
  }
}
