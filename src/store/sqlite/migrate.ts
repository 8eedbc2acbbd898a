// Numbered migrations (`NNN_name.sql`), applied in order at start-up, each in a transaction.
import fs from 'node:fs'
import type Database from 'better-sqlite3'
import { checkNotNewer, migrationFiles } from '../migrations.ts'

export function migrate (db: Database.Database, dir: URL): string[] {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)')
  const done = new Set((db.prepare('SELECT version FROM schema_migrations').all() as Array<{ version: number }>).map((r) => r.version))
  const files = migrationFiles(dir)
  const applied: string[] = []
  for (const { version, file } of files) {
    if (done.has(version)) continue
    const sql = fs.readFileSync(new URL(file, dir), 'utf8')
    db.transaction(() => {
      db.exec(sql)
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(version, file, Date.now())
    })()
    applied.push(file)
  }
  checkNotNewer(done, files)
  return applied
}
