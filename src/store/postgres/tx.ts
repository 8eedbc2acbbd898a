// One transaction on a connection of its own: committed, or rolled back and the error
// thrown (`unavailable` when the database cannot be reached; such a connection is dropped,
// not returned to the pool).
import type pg from 'pg'
import { isUnavailable, unavailable } from './errors.ts'

/** The store's one statement (index.ts: `unavailable` when the database cannot be reached), as its families take it. */
export type Query = <R extends pg.QueryResultRow = any>(sql: string, params?: unknown[]) => Promise<pg.QueryResult<R>>
/** The store's statements in one transaction, as its families take it. */
export type Tx = <T>(fn: (c: pg.PoolClient) => Promise<T>) => Promise<T>

export async function transaction<T> (pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  let client: pg.PoolClient
  try {
    client = await pool.connect()
  } catch (err) {
    throw unavailable(err)
  }
  let broken = false
  try {
    await client.query('BEGIN')
    const out = await fn(client)
    await client.query('COMMIT')
    return out
  } catch (err) {
    broken = isUnavailable(err)
    if (!broken) await client.query('ROLLBACK').catch(() => { broken = true })
    throw broken ? unavailable(err) : err
  } finally {
    client.release(broken)
  }
}
