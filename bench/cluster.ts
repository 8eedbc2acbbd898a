// The chat load of bench/chat.ts against 1, 2 and 3 mqchat nodes on one fresh PostgreSQL
// database and the machine's Redis (a key prefix of this run's own), beside the single-node
// and bare-aedes figures the chat bench measured in the same run.
//
// - Sender i connects to node i % N, receiver j to node j % N, so with N nodes about
//   (N - 1) / N of the messages cross nodes (the exact share is printed).
// - CPU: each node's CPU time over the measured run divided by the messages received (all
//   nodes together too: that sum is what a message costs the cluster).
// - Redis, from outside: `INFO commandstats` deltas over the measured run (publish, eval,
//   evalsha calls) per message, and `INFO cpu`. Both are of the whole server, which other
//   work on this machine may share; so the bench also counts what crossed this run's own bus
//   channel, on a subscriber of its own (one more subscriber than the nodes).
// - PostgreSQL, from outside: `pg_stat_database.xact_commit` of the bench database over the
//   measured run, per message (pg_stat_statements is not loaded on this machine). A backend
//   reports its counts at most once a second while busy and up to PGSTAT_IDLE_INTERVAL (10 s)
//   after it goes idle (PostgreSQL 15+), so the end is read after PG_STATS_SETTLE_MS, clients
//   still connected; the start is read right after the warm-up, and may miss a little of the
//   warm-up's commits that are reported later (its 200 messages against the 10,000 measured).
//   Also the CPU time of the database's backends (/proc of their pids).
import { Redis } from 'ioredis'
import { type LoadResult, report, runLoad } from './load.ts'
import { backendsCpuMs, fixed, int, pgAdmin, pgBackendsCpuMs, pgTransactions, type RedisCounters, redisCounters } from './measure.ts'
import { MQCHAT_DOMAIN, REDIS_URL, startCluster } from './targets.ts'

/**
 * The configurations: `nodes` started, the clients spread over the first `serving` of them.
 * The last has a node with no clients at all: with a bus channel per domain it hears
 * nothing of a domain it does not serve, and what it spends is its own upkeep.
 */
const CONFIGS = [
  { name: '1 node', nodes: 1, serving: 1 },
  { name: '2 nodes', nodes: 2, serving: 2 },
  { name: '3 nodes', nodes: 3, serving: 3 },
  { name: '5 nodes', nodes: 5, serving: 5 },
  { name: '1 + 1 idle', nodes: 2, serving: 1 }
]
/** PGSTAT_IDLE_INTERVAL (10 s) and a margin: by then every backend has reported its counts. */
const PG_STATS_SETTLE_MS = 11_000
/** Redis commands that carry mqchat's traffic: the bus (publish) and the shared send limit (eval). */
const REDIS_COMMANDS = ['publish', 'eval', 'evalsha'] as const

export async function clusterBench (baselines: Map<string, LoadResult>): Promise<void> {
  const redisPrefix = `mqchat-bench-${process.pid}:`
  console.log(`cluster: the chat load over ${CONFIGS.filter((c) => c.serving === c.nodes).map((c) => c.nodes).join(', ')} mqchat nodes on one fresh PostgreSQL database each and the machine's Redis ` +
    `(${REDIS_URL}, prefix ${redisPrefix}); sender i and receiver i on node i % N`)
  console.log('  Redis calls per message: INFO commandstats deltas, whole server (shared with other work here); "bus" = what this run\'s channel carried, counted on a subscriber of the bench\'s own')
  console.log(`  PostgreSQL commits per message: pg_stat_database.xact_commit delta of the bench database, read ${PG_STATS_SETTLE_MS / 1000} s after the run (pg_stat_statements is not loaded here)`)
  const single = baselines.get('mqchat pg')
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 })
  const listener = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 })
  const admin = await pgAdmin()
  try {
    await Promise.all([redis.connect(), listener.connect()])
    let busMessages = 0
    listener.on('pmessage', () => { busMessages++ })
    // every domain's channel (cluster/bus.ts), not the bus's own pings
    await listener.psubscribe(`${redisPrefix}bus:*`)

    for (const { name, nodes: n, serving } of CONFIGS) {
      // The idle node's line is about CPU and Redis: it does not wait for PostgreSQL's statistics.
      const settle = serving === n
      const cluster = await startCluster(n, redisPrefix)
      try {
        const db = cluster.db.name
        let redisBefore: RedisCounters, redisAfter: RedisCounters
        let busBefore = 0, busAfter = 0
        let pgBefore: { commits: number, rollbacks: number }, pgAfter: typeof pgBefore
        let backendsBefore: Map<number, number>, backendsAfter: Map<number, number>
        const r = await runLoad({
          name,
          ports: cluster.nodes.slice(0, serving).map((node) => node.mqttPort),
          pids: cluster.nodes.map((node) => node.child.pid),
          login: async (u) => ({ username: `${MQCHAT_DOMAIN}/${u}`, password: await cluster.nodes[0]!.token(u) }),
          sendTopic: (from) => `chat/${MQCHAT_DOMAIN}/${from}/send`,
          textOf: (p) => p.message?.message,
          ackTopic: (u) => `chat/${MQCHAT_DOMAIN}/${u}/ack`,
          around: {
            start: async () => {
              [redisBefore, pgBefore, backendsBefore] = await Promise.all([redisCounters(redis), pgTransactions(admin, db), pgBackendsCpuMs(admin, db)])
              busBefore = busMessages
            },
            end: async () => {
              [redisAfter, backendsAfter] = await Promise.all([redisCounters(redis), pgBackendsCpuMs(admin, db)])
              busAfter = busMessages
              if (settle) await new Promise((resolve) => setTimeout(resolve, PG_STATS_SETTLE_MS))
              pgAfter = await pgTransactions(admin, db)
            }
          }
        })
        const ratios = [['mqchat pg', single], ['aedes', baselines.get('bare aedes')]]
          .filter((e): e is [string, LoadResult] => e[1] !== undefined)
          .map(([other, base]) => `${name}/${other} ${fixed(r.msgPerS / base.msgPerS)}`)
        report(name, r, ratios.length === 0 ? '' : `ratio msg/s ${ratios.join(', ')}`)
        const m = r.received
        if (m === 0) continue
        const perNode = r.cpuUsPerMsgByPid === null ? 'not readable' : `${r.cpuUsPerMsgByPid.map(int).join(' + ')} = ${int(r.cpuUsPerMsg!)} µs/msg`
        console.log(`    ${''.padEnd(12)} CPU per node ${perNode}; ${int(100 * r.crossShare)}% of the messages cross nodes` +
          (serving < n ? `; the last ${n - serving === 1 ? 'node has no clients and only hears' : `${n - serving} nodes have no clients and only hear`} the bus` : ''))
        const calls = REDIS_COMMANDS.map((c) => `${fixed(((redisAfter!.calls[c] ?? 0) - (redisBefore!.calls[c] ?? 0)) / m)} ${c}`)
        console.log(`    ${''.padEnd(12)} Redis per msg: ${calls.join(', ')} (bus ${fixed((busAfter - busBefore) / m)}); Redis CPU ${int(((redisAfter!.cpuMs - redisBefore!.cpuMs) * 1000) / m)} µs/msg (whole server)`)
        const commits = (pgAfter!.commits - pgBefore!.commits) / m
        const rollbacks = (pgAfter!.rollbacks - pgBefore!.rollbacks) / m
        if (settle) console.log(`    ${''.padEnd(12)} PostgreSQL per msg: ${fixed(commits)} commits, ${fixed(rollbacks)} rollbacks; its backends' CPU ${int(backendsCpuMs(backendsBefore!, backendsAfter!) * 1000 / m)} µs/msg`)
        if (r.ackErrors > 0) console.log(`    ${name} answered ${int(r.ackErrors)} sends with an error ack`)
        const problems = cluster.nodes.flatMap((node) => node.child.problems)
        if (problems.length > 0) console.log(`    ${name} logged ${problems.length} warn/error lines, e.g. ${problems[0]}`)
      } finally {
        await cluster.stop()
      }
    }
    if (single !== undefined) {
      const base = [...baselines].map(([other, b]) => `${other} ${int(b.msgPerS)} msg/s, ${b.cpuUsPerMsg === null ? '?' : int(b.cpuUsPerMsg)} µs/msg`)
      console.log(`    single node, same run (chat above): ${base.join('; ')}`)
    }
  } finally {
    redis.disconnect()
    listener.disconnect()
    await admin.end()
  }
}

