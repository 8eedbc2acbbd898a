// The conversation list of a busy user: user 1 has 10,000 peers in a domain of 1,000,000
// messages; the time mqchat takes to answer `GET …/users/1/conversations?limit=50` (its
// first page, with each peer's profile and presence, the last message and both read
// markers), over HTTP, one call at a time. Aim: p99 under 20 ms.
//
// The history is written straight into the embedded database of a running mqchat (one
// transaction, as the migration that introduced conversations back-fills them), since
// sending a million messages through MQTT would measure the send path instead.
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import Database from 'better-sqlite3'
import { fixed, int } from './measure.ts'
import { MQCHAT_DOMAIN, startMqchat } from './targets.ts'

const MESSAGES = 1_000_000
const PEERS = 10_000
/** Of the messages, those between user 1 and its peers (alternating directions); the rest are between other users. */
const OWN_MESSAGES = 200_000
const OTHERS = 50_000
const WARMUP_CALLS = 50
const CALLS = 500
const AIM_P99_MS = 20

export async function conversationsBench (): Promise<void> {
  const mq = await startMqchat()
  try {
    const t0 = performance.now()
    fill(path.join(mq.dataDir, 'mqchat.sqlite'))
    console.log(`conversations: ${int(MESSAGES)} messages, user 1 with ${int(PEERS)} peers, written in ${fixed((performance.now() - t0) / 1000, 1)} s`)

    const url = `http://127.0.0.1:${mq.httpPort}/api/v1/domains/${MQCHAT_DOMAIN}/users/1/conversations?limit=50`
    const headers = { authorization: `Bearer ${await mq.token(1)}` }
    const call = async (): Promise<number> => {
      const start = performance.now()
      const res = await fetch(url, { headers })
      const body = await res.json() as { conversations: unknown[] }
      if (res.status !== 200 || body.conversations.length !== 50) throw new Error(`conversations answered ${res.status}`)
      return performance.now() - start
    }
    for (let i = 0; i < WARMUP_CALLS; i++) await call()
    const times: number[] = []
    for (let i = 0; i < CALLS; i++) times.push(await call())
    times.sort((a, b) => a - b)
    const at = (q: number): number => times[Math.min(times.length - 1, Math.floor(q * times.length))]!
    const p99 = at(0.99)
    console.log(`conversations: first page (50) over HTTP with a user's token, ${CALLS} calls: p50 ${fixed(at(0.5))} ms, p99 ${fixed(p99)} ms, max ${fixed(times[times.length - 1]!)} ms` +
      ` (aim: p99 < ${AIM_P99_MS} ms: ${p99 < AIM_P99_MS ? 'met' : 'NOT met'})`)
  } finally {
    await mq.stop()
  }
}

/** Writes the history, profiles and presence of the peers, and the conversation rows. */
function fill (file: string): void {
  const db = new Database(file)
  db.pragma('busy_timeout = 10000')
  const now = Date.now()
  const insert = db.prepare('INSERT INTO messages (domain_id, from_userid, to_userid, type, message, p1, p2, p3, created_at) VALUES (?, ?, ?, 0, ?, \'\', \'\', \'\', ?)')
  const profile = db.prepare('INSERT INTO profiles (domain_id, userid, name, avatar, link, updated_at) VALUES (?, ?, ?, ?, NULL, ?)')
  const presence = db.prepare("INSERT INTO presence (domain_id, userid, status, changed_at) VALUES (?, ?, 'offline', ?) ON CONFLICT DO NOTHING")
  let seed = 42
  const random = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n }
  db.transaction(() => {
    const ownEvery = MESSAGES / OWN_MESSAGES
    let own = 0
    for (let i = 0; i < MESSAGES; i++) {
      const at = now - (MESSAGES - i) * 10
      if (i % ownEvery === 0) {
        const peer = 2 + (own % PEERS)
        const [from, to] = own % 2 === 0 ? [1, peer] : [peer, 1]
        own++
        insert.run(MQCHAT_DOMAIN, from, to, `message ${i}`, at)
      } else {
        const a = 20_000 + random(OTHERS)
        insert.run(MQCHAT_DOMAIN, a, a + 1 + random(100), `message ${i}`, at)
      }
    }
    for (let u = 2; u < 2 + PEERS; u++) {
      presence.run(MQCHAT_DOMAIN, u, now)
      profile.run(MQCHAT_DOMAIN, u, `Peer ${u}`, `https://img.example/${u}.png`, now)
    }
    // As migrations/005_people.sql back-fills them (and as each send keeps them).
    db.exec(`INSERT INTO conversations (domain_id, userid, peer, last_id, unread)
      SELECT domain_id, u, p, max(id), sum(incoming) FROM (
        SELECT domain_id, from_userid AS u, to_userid AS p, id, 0 AS incoming FROM messages
        UNION ALL
        SELECT domain_id, to_userid, from_userid, id, 1 FROM messages WHERE from_userid <> to_userid
      ) GROUP BY domain_id, u, p
      ON CONFLICT DO NOTHING`)
  }).immediate()
  // The server reads the file as it would after a restart, not through a 1 GB write-ahead log.
  db.pragma('wal_checkpoint(TRUNCATE)')
  db.close()
}
