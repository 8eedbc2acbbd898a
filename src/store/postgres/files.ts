// Uploaded files on PostgreSQL (SPEC §8): their rows, the quota's sum, and the sweep of the
// files no message carries.
import type { FileRow } from '../types.ts'
import type { Query } from './tx.ts'

const FILE_COLS = `domain_id AS "domainId", id, content_type AS "contentType", size, thumbnail_size AS "thumbnailSize",
  width, height, duration_ms AS "durationMs", created_at AS "createdAt", attached_at AS "attachedAt"`
/** No message carries the file: never sent and older than the cut-off ($3), or sent and all its messages gone. */
const SWEEPABLE = `((f.attached_at IS NULL AND f.created_at < $3)
  OR (f.attached_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.domain_id = f.domain_id AND m.file_id = f.id)))`

export class FilesPg {
  constructor (private readonly q: Query) {}

  async create (f: FileRow): Promise<void> {
    await this.q(`INSERT INTO files (domain_id, id, content_type, size, thumbnail_size, width, height, duration_ms, created_at, attached_at)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, [f.domainId, f.id, f.contentType, f.size, f.thumbnailSize, f.width, f.height, f.durationMs, f.createdAt, f.attachedAt])
  }

  async get (domainId: string, id: string): Promise<FileRow | null> {
    return (await this.q<FileRow>(`SELECT ${FILE_COLS} FROM files WHERE domain_id = $1 AND id = $2`, [domainId, id])).rows[0] ?? null
  }

  async storedBytes (domainId: string): Promise<number> {
    return Number((await this.q('SELECT coalesce(sum(size + thumbnail_size), 0) AS n FROM files WHERE domain_id = $1', [domainId])).rows[0].n)
  }

  async sweepable (unattachedBefore: number, after: { domainId: string, id: string } | null, limit: number): Promise<FileRow[]> {
    // Walks every file by key, a batch at a time: attached files are checked one index probe
    // each (messages_file), a cost per sweep that grows with the files kept, paid in batches
    // off the hot path, instead of a trigger on every message deletion.
    return (await this.q<FileRow>(`SELECT ${FILE_COLS} FROM files f WHERE (domain_id, id) > ($1, $2) AND ${SWEEPABLE} ORDER BY domain_id, id LIMIT $4`,
      [after?.domainId ?? '', after?.id ?? '', unattachedBefore, limit])).rows
  }

  async delete (domainId: string, id: string, unattachedBefore: number): Promise<boolean> {
    return ((await this.q(`DELETE FROM files f WHERE domain_id = $1 AND id = $2 AND ${SWEEPABLE}`, [domainId, id, unattachedBefore])).rowCount ?? 0) > 0
  }
}
