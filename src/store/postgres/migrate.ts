// Numbered migrations (`NNN_name.sql`), applied in order at start-up, each in a transaction,
// under a session advisory lock: nodes that start together migrate once, the others wait and
// then find nothing left to do.
import fs from 'node:fs'
import type pg from 'pg'
import { checkNotNewer, migrationFiles, POSTGRES_RENUMBERED } from '../migrations.ts'

/** The advisory lock key of migrations (any constant of ours: "mqchat" in ASCII). */
const MIGRATION_LOCK = 0x6d7163686174

export async function migrate (client: pg.PoolClient, dir: URL): Promise<string[]> {
  await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK])
  try {
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)')
    await renumber(client)
    const done = new Set((await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version))
    const files = migrationFiles(dir)
    const applied: string[] = []
    for (const { version, file } of files) {
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
    checkNotNewer(done, files)
    return applied
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK])
  }
}

/**
 * A database migrated before the two dialects' lists were paired gets the new numbers of the
 * steps it has (POSTGRES_RENUMBERED), in one transaction; the steps it lacks (new numbers that
 * are comments on PostgreSQL) then run as any new one. Through negative numbers, so that no
 * row meets another's new number on the way.
 */
async function renumber (client: pg.PoolClient): Promise<void> {
  const from = POSTGRES_RENUMBERED.map(([f]) => f)
  const { rowCount } = await client.query('SELECT 1 FROM schema_migrations WHERE name = ANY($1)', [from])
  if (rowCount === 0) return
  await client.query('BEGIN')
  try {
    await client.query('UPDATE schema_migrations SET version = -version WHERE name = ANY($1)', [from])
    for (const [f, to] of POSTGRES_RENUMBERED) {
      await client.query('UPDATE schema_migrations SET version = $1, name = $2 WHERE name = $3', [Number(to.split('_')[0]), to, f])
    }
    await client.query('COMMIT')
  } catch (err) {
    await client.query('ROLLBACK')
    throw err
  }
}
