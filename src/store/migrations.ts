// The migrations of both dialects: one list, by number and name, the same in
// sqlite/migrations and postgres/migrations (a step that one dialect does not need is a file
// with a comment there). test/migrations.test.ts holds the two lists equal.
import fs from 'node:fs'

export interface MigrationFile {
  version: number
  file: string
}

/** The `NNN_name.sql` files of `dir`, in order. */
export function migrationFiles (dir: URL): MigrationFile[] {
  return fs.readdirSync(dir).filter((f) => /^\d+_.+\.sql$/.test(f)).sort()
    .map((file) => ({ version: Number(file.split('_')[0]), file }))
}

/** Refuses a database a newer mqchat has migrated further than this one knows. */
export function checkNotNewer (done: Iterable<number>, files: MigrationFile[]): void {
  const newest = Math.max(0, ...files.map((f) => f.version))
  const known = Math.max(0, ...done)
  if (known > newest) {
    throw new Error(`the database was written by a newer mqchat (schema ${known}, this version knows up to ${newest})`)
  }
}

/**
 * PostgreSQL's migrations were numbered on their own until the two lists were paired: a
 * database migrated before then has these names in schema_migrations, and gets the new ones
 * (the SQL is the same; only its number moved). SQLite's kept their numbers.
 */
export const POSTGRES_RENUMBERED: ReadonlyArray<readonly [from: string, to: string]> = [
  ['002_complete.sql', '008_complete.sql'],
  ['003_people.sql', '005_people.sql'],
  ['004_files.sql', '006_files.sql'],
  ['005_presence.sql', '009_presence.sql'],
  ['006_friends.sql', '007_friends.sql'],
  ['007_write_batch.sql', '010_write_batch.sql'],
  ['008_dispatch.sql', '011_dispatch.sql']
]
