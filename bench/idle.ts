// Server memory of idle MQTT connections: the resident memory (VmRSS) of a fresh broker
// process before and after 10,000 authenticated clients connect and stay idle, for mqchat
// and for a bare aedes broker.
//
// - mqchat: 1,000 users (userids 1..1,000) with a token each, minted through the REST API
//   before the first reading, and 10 connections per user (as tabs and devices would).
// - bare aedes: the same 10,000 connections, with no username or password (it has no auth).
// - Each target is measured in IDLE_ROUNDS fresh processes and the round with the median
//   growth is reported: how much not-yet-collected garbage a process holds when it is read
//   varies by tens of MB from one process to the next.
// - Connections are raw sockets with a hand-built CONNECT (clean session, keep-alive 0),
//   which keeps the load generator light; each counts once its CONNACK accepts it and its
//   SUBACK grants its user's inbox, ack and signal topics (the same three topics on bare
//   aedes). The presence wildcard a widget also subscribes to is left out: each of the 10,000
//   would be sent the 1,000 users' retained presence, a storm of 10 million messages that is
//   the bench's own work, not what an idle connection holds (measured apart: about 3.6 KB a
//   subscriber with 100 users online, for the 5 s presence window, then released).
import type net from 'node:net'
import { pool, rawConnect, rawSubscribe, sleep } from './clients.ts'
import { fixed, int, rssKb } from './measure.ts'
import { MQCHAT_DOMAIN, startBareAedes, startMqchat } from './targets.ts'

const CONNECTIONS = 10_000
const USERS = 1000
const PER_USER = CONNECTIONS / USERS
/** Connections being opened at once. */
const CONNECT_CONCURRENCY = 200
/** Tokens being minted at once. */
const MINT_CONCURRENCY = 16
/** Time for the server to finish the work connections start (presence writes) before reading. */
const SETTLE_MS = 1500
/** Fresh processes measured per target; the median round is reported. */
const IDLE_ROUNDS = 3

interface IdleResult {
  beforeKb: number
  afterKb: number
}

export async function idleBench (): Promise<void> {
  console.log(`idle connections: ${int(CONNECTIONS)} MQTT clients connected and idle (mqchat: ${USERS} users × ${PER_USER} connections each); ` +
    `each subscribed to its inbox, ack and signal; server RSS before → after in the median of ${IDLE_ROUNDS} fresh processes`)
  const aedesRounds: IdleResult[] = []
  for (let round = 0; round < IDLE_ROUNDS; round++) {
    const aedes = await startBareAedes()
    try {
      // the same 1,000 users' topics as mqchat's connections, 10 connections each
      const userids = Array.from({ length: CONNECTIONS }, (_, i) => (i % USERS) + 1)
      aedesRounds.push(await measure(aedes.child.pid, userids, (u, i) => subscribed(rawConnect(aedes.port, `idle-${u}-${i}`), u)))
    } finally {
      await aedes.child.stop()
    }
  }
  const a = report('bare aedes', aedesRounds)

  const mqRounds: IdleResult[] = []
  const problems: string[] = []
  for (let round = 0; round < IDLE_ROUNDS; round++) {
    const mq = await startMqchat()
    try {
      const users = Array.from({ length: USERS }, (_, i) => i + 1)
      const tokens = await pool(users, MINT_CONCURRENCY, (u) => mq.token(u))
      const userids = Array.from({ length: CONNECTIONS }, (_, i) => users[i % USERS]!)
      mqRounds.push(await measure(mq.child.pid, userids, (u, i) => subscribed(rawConnect(mq.mqttPort, `idle-${i}`, `${MQCHAT_DOMAIN}/${u}`, tokens[u - 1]!), u)))
      problems.push(...mq.child.problems)
    } finally {
      await mq.stop()
    }
  }
  const m = report('mqchat', mqRounds)
  console.log(`    ratio mqchat/aedes: ${fixed(m.grownKb / a.grownKb)} (growth per connection), ${fixed(m.afterKb / a.afterKb)} (total RSS with the connections)`)
  if (problems.length > 0) console.log(`    mqchat logged ${problems.length} warn/error lines, e.g. ${problems[0]}`)
}

/** The connection once its SUBACK grants the user's own three topics. */
async function subscribed (connecting: Promise<net.Socket>, userid: number): Promise<net.Socket> {
  const s = await connecting
  await rawSubscribe(s, ['inbox', 'ack', 'signal'].map((leaf) => `chat/${MQCHAT_DOMAIN}/${userid}/${leaf}`))
  return s
}

/** Reads RSS, opens a connection per entry of `userids`, waits, reads RSS again, closes them. */
async function measure (pid: number, userids: number[], open: (userid: number, i: number) => Promise<net.Socket>): Promise<IdleResult> {
  const sockets: net.Socket[] = []
  try {
    await sleep(SETTLE_MS)
    const beforeKb = rssKb(pid)
    await pool(userids, CONNECT_CONCURRENCY, async (u, i) => { sockets.push(await open(u, i)) })
    await sleep(SETTLE_MS)
    const afterKb = rssKb(pid)
    return { beforeKb, afterKb }
  } finally {
    for (const s of sockets) s.destroy()
  }
}

/** Prints the round with the median growth (and every round's growth, to show the spread). */
function report (name: string, rounds: IdleResult[]): { grownKb: number, afterKb: number } {
  const grown = (r: IdleResult): number => r.afterKb - r.beforeKb
  const mid = [...rounds].sort((x, y) => grown(x) - grown(y))[Math.floor(rounds.length / 2)]!
  const grownKb = grown(mid)
  const mb = (kb: number): string => fixed(kb / 1024, 1)
  console.log(`    ${name.padEnd(12)} ${mb(mid.beforeKb).padStart(6)} MB → ${mb(mid.afterKb).padStart(6)} MB  ` +
    `+${mb(grownKb)} MB, ${fixed(grownKb / CONNECTIONS, 1)} KB per connection  (growth in each round: ${rounds.map((r) => mb(grown(r))).join(', ')} MB)`)
  return { grownKb, afterKb: mid.afterKb }
}
