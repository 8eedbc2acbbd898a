// Both dialects' migrations: one list, by number and name; a PostgreSQL database migrated
// under the old, PostgreSQL-only numbering takes the new numbers and loses nothing.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { test } from 'node:test'
import pg from 'pg'
import { migrationFiles, POSTGRES_RENUMBERED } from '../src/store/migrations.ts'
import { migrate } from '../src/store/postgres/migrate.ts'
import { freshDatabase } from './helpers/postgres.ts'

const SQLITE = new URL('../src/store/sqlite/migrations/', import.meta.url)
const POSTGRES = new URL('../src/store/postgres/migrations/', import.meta.url)

test('both dialects list the same migrations, numbered 1, 2, 3… without a gap', () => {
  const sqlite = migrationFiles(SQLITE).map((m) => m.file)
  const postgres = migrationFiles(POSTGRES).map((m) => m.file)
  assert.deepEqual(postgres, sqlite)
  assert.deepEqual(migrationFiles(SQLITE).map((m) => m.version), sqlite.map((_, i) => i + 1))
})

test('a PostgreSQL database numbered the old way is renumbered, and only the comment-only steps run', async (t) => {
  // What the old list held: the steps up to 011, the last that existed under the old numbers.
  const old = fs.mkdtempSync(path.join(os.tmpdir(), 'mqchat-migrations-'))
  t.after(() => fs.rmSync(old, { recursive: true, force: true }))
  for (const m of migrationFiles(POSTGRES).filter((m) => m.version <= 11)) fs.copyFileSync(new URL(m.file, POSTGRES), path.join(old, m.file))
  const pool = new pg.Pool({ connectionString: await freshDatabase(), max: 1 })
  try {
    const client = await pool.connect()
    try {
      await migrate(client, pathToFileURL(old + '/'))
      await client.query("INSERT INTO domains (id, name, api_key_hash, token_secret, created_at) VALUES ('d1', 'kept', 'h', 's', 1)")
      // What a database migrated before the pairing holds: 001..008 by their old names.
      await client.query('DELETE FROM schema_migrations')
      const oldNames = ['001_init.sql', ...POSTGRES_RENUMBERED.map(([from]) => from)]
      for (const name of oldNames) await client.query('INSERT INTO schema_migrations VALUES ($1, $2, 0)', [Number(name.slice(0, 3)), name])

      const applied = await migrate(client, POSTGRES)
      // the three comment-only steps, and whatever came after the old list's last (011)
      const later = migrationFiles(POSTGRES).filter((m) => m.version > 11).map((m) => m.file)
      assert.deepEqual(applied, ['002_callbacks.sql', '003_presence_present.sql', '004_outbox_batches.sql', ...later])
      const rows = (await client.query<{ version: number, name: string }>('SELECT version, name FROM schema_migrations ORDER BY version')).rows
      assert.deepEqual(rows.map((r) => r.name), migrationFiles(POSTGRES).map((m) => m.file))
      assert.deepEqual(rows.map((r) => r.version), rows.map((_, i) => i + 1))
      assert.equal((await client.query("SELECT name FROM domains WHERE id = 'd1'")).rows[0].name, 'kept')
      // and again: nothing left to do
      assert.deepEqual(await migrate(client, POSTGRES), [])
    } finally {
      client.release()
    }
  } finally {
    await pool.end()
  }
})
