// Fresh PostgreSQL databases for a test run, on the machine's server (SPEC: tests use the real
// PostgreSQL, never a mock), dropped when the test file ends. MQCHAT_TEST_PG_URL points at a
// server other than the default one (trust auth on 127.0.0.1:5432, user postgres).
import { after } from 'node:test'
import pg from 'pg'

export const PG_ADMIN_URL = process.env.MQCHAT_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

const created: string[] = []
let seq = 0
let hooked = false

/** A new empty database; answers its URL. */
export async function freshDatabase (): Promise<string> {
  const name = `mqchat_test_${process.pid}_${Date.now().toString(36)}_${++seq}`
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL })
  await admin.connect()
  try {
    await admin.query(`CREATE DATABASE ${name}`)
  } finally {
    await admin.end()
  }
  created.push(name)
  if (!hooked) {
    hooked = true
    after(dropAll)
  }
  const url = new URL(PG_ADMIN_URL)
  url.pathname = `/${name}`
  return url.toString()
}

async function dropAll (): Promise<void> {
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL })
  await admin.connect()
  try {
    for (const name of created.splice(0)) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  } finally {
    await admin.end()
  }
}
