// The chat load: "50 senders each sending 200 QoS 1 messages to 50 receivers", the same load
// through a bare aedes broker, Mosquitto and mqchat (on SQLite, then on a fresh PostgreSQL
// database), with the throughput and latency ratios.
//
// - Senders are users 1..50, receivers 1001..1050. Sender i sends its k-th message to
//   receiver 1001 + (i - 1 + k) % 50 (round-robin): each receiver gets 4 messages from each
//   sender, 200 in all.
// - Each sender keeps at most WINDOW QoS 1 publishes awaiting their PUBACK, and sends the
//   next as each PUBACK comes back (mqchat PUBACKs a send once it is committed).
// - The send time (performance.now() in this process) is in the message text; the receiver
//   takes latency = arrival - send time. Throughput = messages received / (last arrival -
//   first send).
// - Bare brokers: the sender publishes straight to `chat/bench/<receiver>/inbox`. mqchat: the
//   sender publishes to `chat/bench/<sender>/send`; the server stores the message, delivers
//   it to the receiver's inbox and acks the sender on `chat/bench/<sender>/ack` (the senders
//   subscribe to their acks, as a real client does, and the bench counts error acks).
import fs from 'node:fs'
import { performance } from 'node:perf_hooks'
import { startReceiver } from './receiver.ts'
import {
  FIRST_RECEIVER, FIRST_SENDER, inbox, type LoadResult, MESSAGES_PER_SENDER, RECEIVERS, report, runLoad, SENDERS, type Target, TOTAL, WARMUP_PER_SENDER, WINDOW
} from './load.ts'
import { cpuMs, fixed, int } from './measure.ts'
import { HOST } from './processes.ts'
import { answers, MOSQUITTO_PORT, type Mqchat, MQCHAT_DOMAIN, startBareAedes, startMqchatOn } from './targets.ts'

/** How the mqchat lines are labelled: the SQLite line keeps its name from before PostgreSQL. */
const MQCHAT_NAMES = { sqlite: 'mqchat', postgres: 'mqchat pg' } as const
/** The line of the same load on SQLite with both callbacks on, a receiver answering each. */
const CALLBACKS_NAME = 'mqchat + callbacks'
/** How long the callbacks of the measured messages may take to arrive after the last inbox delivery. */
const CALLBACK_DRAIN_TIMEOUT_MS = 60_000
const clock = (): number => performance.timeOrigin + performance.now()

const mqchatTarget = (name: string, mq: Mqchat): Target => ({
  name,
  ports: [mq.mqttPort],
  pids: [mq.child.pid],
  login: async (u) => ({ username: `${MQCHAT_DOMAIN}/${u}`, password: await mq.token(u) }),
  sendTopic: (from) => `chat/${MQCHAT_DOMAIN}/${from}/send`,
  textOf: (p) => p.message?.message,
  ackTopic: (u) => `chat/${MQCHAT_DOMAIN}/${u}/ack`
})

const bare = (name: string, port: number, pid: number | null): Target => ({
  name,
  ports: [port],
  pids: pid === null ? [] : [pid],
  login: async () => ({}),
  sendTopic: (_from, to) => inbox(to),
  textOf: (p) => p.message
})

/** Runs the chat load on every target; resolves with each target's figures, by line name, for the cluster bench to compare with. */
export async function chatBench (): Promise<Map<string, LoadResult>> {
  console.log(`chat: ${SENDERS} senders × ${MESSAGES_PER_SENDER} QoS1 msgs → ${RECEIVERS} receivers (${int(TOTAL)} msgs)`)
  console.log(`  senders ${FIRST_SENDER}..${FIRST_SENDER + SENDERS - 1} round-robin over receivers ${FIRST_RECEIVER}..${FIRST_RECEIVER + RECEIVERS - 1}; ` +
    `window ${WINDOW} unacked publishes per sender; warm-up ${int(SENDERS * WARMUP_PER_SENDER)} msgs; clean sessions; loopback`)
  const results = new Map<string, LoadResult>()

  const aedes = await startBareAedes()
  try {
    results.set('bare aedes', report('bare aedes', await runLoad(bare('bare aedes', aedes.port, aedes.child.pid))))
  } finally {
    await aedes.child.stop()
  }

  // Mosquitto is not ours to start: the one already running, if any. Whatever goes wrong
  // with it is a skipped line, not a failed bench.
  if (await answers(MOSQUITTO_PORT)) {
    try {
      results.set('mosquitto', report('mosquitto', await runLoad(bare('mosquitto', MOSQUITTO_PORT, mosquittoPid()))))
    } catch (err) {
      console.log(`    ${'mosquitto'.padEnd(12)} skipped: ${(err as Error).message}`)
    }
  } else {
    console.log(`    ${'mosquitto'.padEnd(12)} skipped: nothing answers at ${HOST}:${MOSQUITTO_PORT}`)
  }

  const profDir = process.env.BENCH_CPU_PROF
  // mqchat on each store, each measured against the same baselines.
  for (const store of ['sqlite', 'postgres'] as const) {
    const name = MQCHAT_NAMES[store]
    const mq = await startMqchatOn(store, profDir === undefined ? {} : { cpuProfDir: profDir })
    try {
      const r = await runLoad(mqchatTarget(name, mq))
      const ratios = [...results].filter(([other]) => !other.startsWith('mqchat'))
        .map(([other, base]) => `${name}/${other.replace('bare ', '')} ${fixed(r.msgPerS / base.msgPerS)}`)
      const sqlite = results.get(MQCHAT_NAMES.sqlite)
      if (store === 'postgres' && sqlite !== undefined) ratios.push(`postgres/sqlite ${fixed(r.msgPerS / sqlite.msgPerS)}`)
      results.set(name, report(name, r, ratios.length === 0 ? '' : `ratio msg/s ${ratios.join(', ')}`))
      if (r.ackErrors > 0) console.log(`    ${name} answered ${int(r.ackErrors)} sends with an error ack`)
      if (mq.child.problems.length > 0) console.log(`    ${name} logged ${mq.child.problems.length} warn/error lines, e.g. ${mq.child.problems[0]}`)
    } finally {
      await mq.stop()
    }
  }
  await withCallbacks(results)
  const a = results.get('bare aedes')
  for (const name of Object.values(MQCHAT_NAMES)) {
    const m = results.get(name)
    if (m !== undefined && a !== undefined) {
      console.log(`    latency ${name}/aedes: p50 ${fixed(m.p50Ms / a.p50Ms, 1)}×, p99 ${fixed(m.p99Ms / a.p99Ms, 1)}×` +
        (m.cpuUsPerMsg !== null && a.cpuUsPerMsg !== null ? `; server CPU per message ${fixed(m.cpuUsPerMsg / a.cpuUsPerMsg, 1)}×` : ''))
    }
  }
  if (profDir !== undefined) console.log(`    mqchat CPU profile written to ${profDir}`)
  return results
}

function mosquittoPid (): number | null {
  try {
    const pid = Number(fs.readFileSync('/run/mosquitto/mosquitto.pid', 'utf8').trim())
    return cpuMs(pid) === null ? null : pid
  } catch {
    return null
  }
}

/**
 * The same load on SQLite with the messages and presence callbacks on, pointed at a receiver
 * in its own process that answers 200 at once. The figure counts to the last callback of
 * the measured messages, not to the last inbox delivery: msg/s = messages / (last callback
 * − first send), and every message must have been called back (distinct webhook-ids).
 */
export async function withCallbacks (results: Map<string, LoadResult>): Promise<void> {
  const { rx, stop: stopReceiver } = await startReceiver()
  const profDir = process.env.BENCH_CPU_PROF
  const mq = await startMqchatOn('sqlite', { env: { MQCHAT_CALLBACK_ALLOW_PRIVATE: '1' }, ...(profDir === undefined ? {} : { cpuProfDir: profDir }) })
  try {
    const hook = (kind: string, tag: string): Promise<unknown> => mq.api('PUT', `/domains/${MQCHAT_DOMAIN}/callbacks/${kind}`, { url: `${rx.origins[0]}/${tag}`, enabled: true }, 200)
    await hook('messages', 'chat-warm')
    await hook('presence', 'chat-presence')
    const warmed = SENDERS * WARMUP_PER_SENDER
    let t0 = 0
    const r = await runLoad({
      ...mqchatTarget(CALLBACKS_NAME, mq),
      around: {
        // The warm-up's callbacks are all in before the measured messages go to a URL of their own.
        start: async () => {
          const w = await rx.until('chat-warm', warmed, CALLBACK_DRAIN_TIMEOUT_MS)
          if (w.distinct < warmed) throw new Error(`${CALLBACKS_NAME}: only ${w.distinct} of ${warmed} warm-up messages were called back`)
          await hook('messages', 'chat-measured')
          t0 = clock()
        },
        end: async () => {}
      }
    })
    const lastInbox = clock()
    const s = await rx.until('chat-measured', TOTAL, CALLBACK_DRAIN_TIMEOUT_MS)
    const perS = s.distinct / ((s.last - t0) / 1000)
    const a = results.get('bare aedes')
    const m = results.get(MQCHAT_NAMES.sqlite)
    const ratios = [a === undefined ? '' : `${CALLBACKS_NAME}/aedes ${fixed(perS / a.msgPerS)}`, m === undefined ? '' : `/mqchat ${fixed(perS / m.msgPerS)}`].filter((x) => x !== '')
    report(CALLBACKS_NAME, r)
    console.log(`    ${''.padEnd(12)} counted to the last callback: ${int(perS)} msg/s${ratios.length === 0 ? '' : `, ratio ${ratios.join(', ')}`}; ` +
      `${int(s.distinct)} of ${int(TOTAL)} messages called back (${int(s.count)} requests), the last ${int(Math.max(0, s.last - lastInbox))} ms after the last inbox delivery`)
    if (s.distinct < TOTAL) console.log(`    ${CALLBACKS_NAME}: NOT every message was called back within ${CALLBACK_DRAIN_TIMEOUT_MS / 1000} s`)
    results.set(CALLBACKS_NAME, { ...r, msgPerS: perS })
    if (mq.child.problems.length > 0) console.log(`    ${CALLBACKS_NAME} logged ${mq.child.problems.length} warn/error lines, e.g. ${mq.child.problems[0]}`)
  } finally {
    await mq.stop()
    await stopReceiver()
  }
}
