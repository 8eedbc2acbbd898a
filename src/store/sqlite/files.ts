// Uploaded files on SQLite (SPEC §8): their rows, the quota's sum, and the sweep of the files
// no message carries. Writes are functions the group commit runs in its transaction.
import type Database from 'better-sqlite3'
import type { FileRow } from '../types.ts'

const FILE_COLS = `domain_id AS domainId, id, content_type AS contentType, size, thumbnail_size AS thumbnailSize,
  width, height, duration_ms AS durationMs, created_at AS createdAt, attached_at AS attachedAt`
/** No message carries the file: never sent and older than the cut-off (@cutoff), or sent and all its messages gone. */
const SWEEPABLE = `((f.attached_at IS NULL AND f.created_at < @cutoff)
  OR (f.attached_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.domain_id = f.domain_id AND m.file_id = f.id)))`

export class FilesSql {
  private readonly q

  constructor (db: Database.Database) {
    this.q = {
      insertFile: db.prepare(`INSERT INTO files (domain_id, id, content_type, size, thumbnail_size, width, height, duration_ms, created_at, attached_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      getFile: db.prepare(`SELECT ${FILE_COLS} FROM files WHERE domain_id = ? AND id = ?`),
      storedBytes: db.prepare('SELECT coalesce(sum(size + thumbnail_size), 0) AS n FROM files WHERE domain_id = ?'),
      // Walks every file by key, a batch at a time: attached files are checked one index probe
      // each (messages_file), a cost per sweep that grows with the files kept, paid in batches
      // off the hot path, instead of a trigger on every message deletion.
      sweepable: db.prepare(`SELECT ${FILE_COLS} FROM files f WHERE (domain_id, id) > (@domainId, @id) AND ${SWEEPABLE} ORDER BY domain_id, id LIMIT @limit`),
      deleteFile: db.prepare(`DELETE FROM files AS f WHERE domain_id = @domainId AND id = @id AND ${SWEEPABLE}`)
    }
  }

  /** Runs inside a write. */
  create (f: FileRow): void {
    this.q.insertFile.run(f.domainId, f.id, f.contentType, f.size, f.thumbnailSize, f.width, f.height, f.durationMs, f.createdAt, f.attachedAt)
  }

  get (domainId: string, id: string): FileRow | null {
    return (this.q.getFile.get(domainId, id) as FileRow | undefined) ?? null
  }

  storedBytes (domainId: string): number {
    return (this.q.storedBytes.get(domainId) as { n: number }).n
  }

  sweepable (unattachedBefore: number, after: { domainId: string, id: string } | null, limit: number): FileRow[] {
    return this.q.sweepable.all({ domainId: after?.domainId ?? '', id: after?.id ?? '', cutoff: unattachedBefore, limit }) as FileRow[]
  }

  /** Runs inside a write: removed only if still sweepable, checked in the same statement. */
  delete (domainId: string, id: string, unattachedBefore: number): boolean {
    return this.q.deleteFile.run({ domainId, id, cutoff: unattachedBefore }).changes > 0
  }
}
