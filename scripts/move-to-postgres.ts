// Moving from the embedded database to PostgreSQL (SPEC §6, last bullet): copies an embedded
// data dir's mqchat.sqlite into an empty PostgreSQL database, every table and every row, ids
// included, and says what it copied.
//
//   npm run move-to-postgres -- --from ./data --to postgres://user@host/db
//
// MQCHAT_DATA_DIR and MQCHAT_DATABASE_URL are the defaults of --from and --to (a script of
// its own, not the server: it reads the environment here, as config.ts does for the server).
//
// What it keeps: ids (messages, events, logs), webhook-ids, event states, attempts and the
// outbox queues, so a callback carries on where it stopped. What it changes, on purpose:
// outbox leases are cleared (the node that held them is gone), and presence.node_id is NULL,
// so users the old server left present are orphans that the new server sends offline.
import { randomUUID } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import Database from 'better-sqlite3'
import pg from 'pg'
import { createLogger } from '../src/log.ts'
import { OPERATOR_KEY_FILE } from '../src/operator-key.ts'
import { SetupError } from '../src/errors.ts'
import { PostgresStore } from '../src/store/postgres/index.ts'

const SQLITE_FILE = 'mqchat.sqlite'
const SQLITE_MIGRATIONS = new URL('../src/store/sqlite/migrations/', import.meta.url)
/**
 * Rows per INSERT. One statement carries one array per column (INSERT … SELECT FROM unnest),
 * so the batch is not bounded by PostgreSQL's 65,535 parameters; 5,000 rows keep a batch of
 * the widest table (callback_logs, request bodies included) to a few MB in memory.
 */
const BATCH_ROWS = 5000

interface Table {
  name: string
  /** the SQLite order rows are read in (the primary key) */
  orderBy: string
  /** columns whose value is not copied as it is, and what is written instead */
  reset?: Record<string, null>
  /** what the target holds already is replaced, not refused: a server started on it once made its own */
  replace?: true
}

/** Every table of the embedded store, parents before children (foreign keys to domains). */
const TABLES: Table[] = [
  { name: 'domains', orderBy: 'id' },
  // The node that wrote a presence is the old server, gone: its present users are orphans.
  { name: 'presence', orderBy: 'domain_id, userid', reset: { node_id: null } },
  { name: 'messages', orderBy: 'id' },
  { name: 'events', orderBy: 'id' },
  { name: 'callbacks', orderBy: 'domain_id, kind' },
  // A lease held by the old server would keep the queue locked until it ran out.
  { name: 'outbox_queues', orderBy: 'domain_id, kind, userid', reset: { locked_by: null, locked_until: null } },
  { name: 'callback_logs', orderBy: 'id' },
  // People (migration 005_people.sql): profiles, the conversation rows kept
  // with each message (with their read markers), blocks, erased users.
  { name: 'profiles', orderBy: 'domain_id, userid' },
  { name: 'conversations', orderBy: 'domain_id, userid, peer' },
  { name: 'blocks', orderBy: 'domain_id, userid, peer' },
  // Friends (migration 007_friends.sql): both rows of each pair.
  { name: 'friends', orderBy: 'domain_id, userid, peer' },
  { name: 'erased_users', orderBy: 'domain_id, userid' },
  // What is known of uploaded files; their bytes stay where MQCHAT_STORAGE_URL keeps them
  // (the data dir's files/ folder, or S3): the new server must see the same storage.
  { name: 'files', orderBy: 'domain_id, id' },
  // Web push (014_push.sql in both): the server's VAPID key pair, which the browsers'
  // subscriptions were made for (a server started once on the target generated its own: the
  // moved one replaces it), the subscriptions, and the pushes still to send.
  { name: 'server_settings', orderBy: 'key', replace: true },
  { name: 'push_subscriptions', orderBy: 'domain_id, endpoint' },
  { name: 'push_jobs', orderBy: 'id', reset: { locked_by: null, locked_until: null } }
]
/** Tables whose id is a bigserial in PostgreSQL: new ids must continue above the old ones. */
const SERIAL_TABLES = ['messages', 'events', 'callback_logs', 'push_jobs']
/** Columns only PostgreSQL has: live state between the nodes that share it, empty after a move. */
const PG_ONLY_COLUMNS: Record<string, string[]> = { presence: ['offline_due_at'] }
/** SQLite's own bookkeeping, not data. */
const NOT_COPIED = new Set(['schema_migrations', 'sqlite_sequence'])

class Refusal extends Error {}

function fail (line: string): never {
  process.stderr.write(`move-to-postgres: ${line}\n`)
  process.exit(1)
}

/** The URL as it may be printed: without its password. */
function shown (url: string): string {
  try {
    const u = new URL(url)
    if (u.password !== '') u.password = '***'
    return u.toString()
  } catch {
    return url
  }
}

function parse (): { from: string, to: string } {
  let values
  try {
    ({ values } = parseArgs({ options: { from: { type: 'string' }, to: { type: 'string' }, help: { type: 'boolean' } } }))
  } catch (err) {
    fail(`${(err as Error).message} (usage: --from <data dir> --to postgres://…)`)
  }
  if (values.help === true) {
    process.stdout.write('usage: npm run move-to-postgres -- --from <data dir> --to postgres://user@host/db\n' +
      '  --from  the embedded data dir (default: MQCHAT_DATA_DIR, else ./data); stop its server first\n' +
      '  --to    an empty PostgreSQL database (default: MQCHAT_DATABASE_URL)\n')
    process.exit(0)
  }
  const from = values.from ?? process.env.MQCHAT_DATA_DIR ?? './data'
  const to = values.to ?? process.env.MQCHAT_DATABASE_URL
  if (to === undefined || to === '') fail('no target database: give --to postgres://user@host/db (or set MQCHAT_DATABASE_URL)')
  if (!/^postgres(ql)?:\/\//.test(to)) fail(`--to must be a postgres:// URL, got "${shown(to)}"`)
  return { from: path.resolve(from), to }
}

/** The embedded database, read-only, at the schema this version of mqchat writes. */
function openSqlite (dataDir: string): Database.Database {
  const file = path.join(dataDir, SQLITE_FILE)
  if (!fs.existsSync(file)) throw new Refusal(`${dataDir} has no ${SQLITE_FILE}: not an mqchat data dir (--from, or MQCHAT_DATA_DIR)`)
  const db = new Database(file, { readonly: true, fileMustExist: true })
  const newest = Math.max(...fs.readdirSync(SQLITE_MIGRATIONS).filter((f) => /^\d+_.+\.sql$/.test(f)).map((f) => Number(f.split('_')[0])))
  const known = (db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number | null }).v ?? 0
  if (known !== newest) {
    db.close()
    throw new Refusal(known < newest
      ? `${file} is at schema ${known}, older than this mqchat (${newest}): start this version of mqchat on it once, stop it, then move`
      : `${file} was written by a newer mqchat (schema ${known}, this version knows up to ${newest}): move it with that version`)
  }
  const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>).map((r) => r.name)
  const unknown = tables.filter((n) => !NOT_COPIED.has(n) && !TABLES.some((t) => t.name === n))
  if (unknown.length > 0) {
    db.close()
    throw new Refusal(`${file} has tables this command does not know (${unknown.join(', ')}); it would not copy them`)
  }
  return db
}

/** Column name → PostgreSQL type of one table; the SQLite table must have exactly these columns. */
async function columnsOf (client: pg.ClientBase, db: Database.Database, table: string): Promise<Array<{ name: string, type: string }>> {
  const pgCols = (await client.query<{ name: string, type: string }>(
    `SELECT column_name AS name, data_type AS type FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`, [table])).rows
  const liteCols = (db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>).map((c) => c.name)
  // A column on one side only would be lost, or left to its default: refuse rather than guess.
  const onlyLite = liteCols.filter((c) => !pgCols.some((p) => p.name === c))
  const onlyPg = pgCols.filter((p) => !liteCols.includes(p.name) && !(PG_ONLY_COLUMNS[table] ?? []).includes(p.name)).map((p) => p.name)
  if (onlyLite.length > 0 || onlyPg.length > 0) {
    throw new Refusal(`the two schemas of table ${table} differ (only in SQLite: ${onlyLite.join(', ') || '-'}; only in PostgreSQL: ${onlyPg.join(', ') || '-'})`)
  }
  return pgCols.filter((p) => liteCols.includes(p.name))
}

/** Copies one table in batches; answers the number of rows. */
async function copyTable (client: pg.ClientBase, db: Database.Database, t: Table): Promise<number> {
  const cols = await columnsOf(client, db, t.name)
  const names = cols.map((c) => c.name)
  const casts = cols.map((c, i) => `$${i + 1}::${c.type}[]`).join(', ')
  const insert = `INSERT INTO ${t.name} (${names.join(', ')}) SELECT * FROM unnest(${casts})`
  // SQLite keeps booleans as 0/1; PostgreSQL has booleans (callbacks.enabled, events.requeued).
  const convert = cols.map((c) => c.name in (t.reset ?? {})
    ? () => null
    : c.type === 'boolean' ? (v: unknown) => v === null ? null : v !== 0 : (v: unknown) => v)
  const read = db.prepare(`SELECT ${names.join(', ')} FROM ${t.name} ORDER BY ${t.orderBy}`).raw(true)
  let count = 0
  let batch: unknown[][] = names.map(() => [])
  const flush = async (): Promise<void> => {
    if (batch[0]!.length === 0) return
    await client.query(insert, batch)
    batch = names.map(() => [])
  }
  for (const row of read.iterate() as IterableIterator<unknown[]>) {
    for (let i = 0; i < row.length; i++) batch[i]!.push(convert[i]!(row[i]))
    if (++count % BATCH_ROWS === 0) await flush()
  }
  await flush()
  return count
}

async function main (): Promise<void> {
  const { from, to } = parse()
  let db: Database.Database
  try {
    db = openSqlite(from)
  } catch (err) {
    if (err instanceof Refusal) fail(err.message)
    fail(`cannot read ${path.join(from, SQLITE_FILE)}: ${(err as Error).message}`)
  }

  // The schema: PostgresStore applies its migrations, exactly as the server will at start.
  // Its log goes to stderr, so that stdout is only what was copied.
  const log = createLogger('warn', process.stderr as unknown as Parameters<typeof createLogger>[1])
  const store = new PostgresStore(to, 2, `move-to-postgres-${randomUUID()}`, log)
  try {
    await store.open()
  } catch (err) {
    if (err instanceof SetupError) fail(`cannot reach ${shown(to)}: ${(err.cause as Error).message}`)
    fail(`cannot prepare ${shown(to)}: ${(err as Error).message}`)
  } finally {
    await store.close().catch(() => {})
  }

  const client = new pg.Client({ connectionString: to, application_name: 'mqchat-move' })
  await client.connect()
  const counts: Array<[string, number]> = []
  const sequences: Array<[string, number]> = []
  try {
    await client.query('BEGIN')
    // Nothing else writes these tables until the copy commits (a server started early on the
    // target waits), and the emptiness checked below still holds when the rows go in.
    await client.query(`LOCK TABLE ${TABLES.map((t) => t.name).join(', ')} IN EXCLUSIVE MODE`)
    const domains = Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM domains')).rows[0]!.n)
    if (domains > 0) throw new Refusal(`${shown(to)} is not empty (it has ${domains} domain${domains === 1 ? '' : 's'}): the move writes only into an empty database`)
    for (const t of TABLES) {
      if (t.replace === true) { await client.query(`DELETE FROM ${t.name}`); continue }
      const n = (await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${t.name}`)).rows[0]!.n
      if (Number(n) > 0) throw new Refusal(`${shown(to)} is not empty (table ${t.name} has ${n} rows): the move writes only into an empty database`)
    }

    // One read transaction on SQLite: every table is read from the same moment.
    db.exec('BEGIN')
    for (const t of TABLES) counts.push([t.name, await copyTable(client, db, t)])

    // New ids continue above the old ones. AUTOINCREMENT remembers the highest id ever
    // given (sqlite_sequence), which is above max(id) when the newest rows were deleted
    // (an erased user, pruned logs): such ids are not given again either.
    for (const table of SERIAL_TABLES) {
      const seq = (db.prepare('SELECT seq FROM sqlite_sequence WHERE name = ?').get(table) as { seq: number } | undefined)?.seq ?? 0
      const last = Math.max(seq, Number((await client.query<{ m: string | null }>(`SELECT max(id) AS m FROM ${table}`)).rows[0]!.m ?? 0))
      // setval(…, 1, false): the next id is 1, for a table that never had a row.
      await client.query(`SELECT setval(pg_get_serial_sequence($1, 'id'), $2, $3)`, [table, Math.max(last, 1), last > 0])
      sequences.push([table, last])
    }
    db.exec('COMMIT')
    await client.query('COMMIT')
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {})
    await client.end().catch(() => {})
    db.close()
    if (err instanceof Refusal) fail(err.message)
    fail(`nothing was moved (the copy was rolled back): ${(err as Error).message}`)
  }
  await client.end()
  db.close()

  const width = Math.max(...counts.map(([name]) => name.length))
  const out = [`moved ${path.join(from, SQLITE_FILE)} into ${shown(to)}:`]
  for (const [name, n] of counts) out.push(`  ${name.padEnd(width)}  ${n} rows`)
  out.push(`new ids continue above the old: ${sequences.map(([name, last]) => `${name} > ${last}`).join(', ')}`)
  const keyFile = path.join(from, OPERATOR_KEY_FILE)
  out.push(fs.existsSync(keyFile)
    ? `the operator key stays in ${keyFile}: start the new server with MQCHAT_DATA_DIR=${from}, or with MQCHAT_ADMIN_KEY set to that key`
    : `${from} holds no operator key (it was set with MQCHAT_ADMIN_KEY): start the new server with the same MQCHAT_ADMIN_KEY`)
  process.stdout.write(out.join('\n') + '\n')
}

void main().catch((err) => fail((err as Error).message))
