// Numbered migrations (`NNN_name.sql`), applied in order at start-up, each in a transaction,
// under a session advisory lock: nodes that start together migrate once, the others wait and
// then find nothing left to do.
import fs from 'node:fs'
import type pg from 'pg'

/** The advisory lock key of migrations (any constant of ours: "mqchat" in ASCII). */
const MIGRATION_LOCK = 0x6d7163686174

export async function migrate (client: pg.PoolClient, dir: URL): Promise<string[]> {
  await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK])
  try {
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)')
    const done = new Set((await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version))
    const files = fs.readdirSync(dir).filter((f) => /^\d+_.+\.sql$/.test(f)).sort()
    const applied: string[] = []
    for (const file of files) {
      const version = Number(file.split('_')[0])
      if (done.has(version)) continue
      const sql = fs.readFileSync(new URL(file, dir), 'utf8')
      await client.query('BEGIN')
      try {
        await client.query(sql)
        await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [version, file, Date.now()])
        await client.query('COMMIT')
      } catch (err) {
        await client.query('ROLLBACK')
        throw err
      }
      applied.push(file)
    }
    const newest = Math.max(0, ...files.map((f) => Number(f.split('_')[0])))
    const known = Math.max(0, ...done)
    if (known > newest) {
      throw new Error(`the database was written by a newer mqchat (schema ${known}, this version knows up to ${newest})`)
    }
    return applied
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK])
  }
}
