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
import mqtt, { type MqttClient } from 'mqtt'
import {
  answers, cpuMs, fixed, HOST, int, MOSQUITTO_PORT, MQCHAT_DOMAIN, startBareAedes, startMqchatOn
} from './lib.ts'

const SENDERS = 50
const RECEIVERS = 50
const MESSAGES_PER_SENDER = 200
const FIRST_SENDER = 1
const FIRST_RECEIVER = 1001
/** PUBACKs each sender may be waiting for at once. */
const WINDOW = Number(process.env.BENCH_WINDOW ?? 10)
/** Warm-up messages per sender (50 × 4 = 200), sent and received before measuring. */
const WARMUP_PER_SENDER = 4
const WARMUP_TIMEOUT_MS = 15_000
/** The measured run is cut short after this; what arrived by then is reported. */
const RUN_TIMEOUT_MS = 30_000
const CONNECT_TIMEOUT_MS = 5000

const TOTAL = SENDERS * MESSAGES_PER_SENDER
/** How the mqchat lines are labelled: the SQLite line keeps its name from before PostgreSQL. */
const MQCHAT_NAMES = { sqlite: 'mqchat', postgres: 'mqchat pg' } as const

interface Target {
  name: string
  port: number
  /** the server's pid, to read its CPU time; null for none */
  pid: number | null
  /** MQTT username and password for a user; undefined for none */
  login: (userid: number) => Promise<{ username?: string, password?: string }>
  /** where a sender publishes a message for `to` */
  sendTopic: (from: number, to: number) => string
  /** the message text in an inbox payload */
  textOf: (payload: any) => unknown
  /** where the server acks a sender; undefined when it does not */
  ackTopic?: (userid: number) => string
}

export interface LoadResult {
  received: number
  expected: number
  msgPerS: number
  p50Ms: number
  p99Ms: number
  maxMs: number
  /** server CPU time per message, in µs; null when not readable */
  cpuUsPerMsg: number | null
  /** share of one core the server used during the run; null when not readable */
  serverCorePct: number | null
  /** share of one core this process (the load generator) used during the run */
  genCorePct: number
  ackErrors: number
  publishErrors: number
}

const inbox = (u: number): string => `chat/${MQCHAT_DOMAIN}/${u}/inbox`
const bare = (name: string, port: number, pid: number | null): Target => ({
  name,
  port,
  pid,
  login: async () => ({}),
  sendTopic: (_from, to) => inbox(to),
  textOf: (p) => p.message
})

export async function chatBench (): Promise<void> {
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
      const r = await runLoad({
        name,
        port: mq.mqttPort,
        pid: mq.child.pid,
        login: async (u) => ({ username: `${MQCHAT_DOMAIN}/${u}`, password: await mq.token(u) }),
        sendTopic: (from) => `chat/${MQCHAT_DOMAIN}/${from}/send`,
        textOf: (p) => p.message?.message,
        ackTopic: (u) => `chat/${MQCHAT_DOMAIN}/${u}/ack`
      })
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
  const a = results.get('bare aedes')
  for (const name of Object.values(MQCHAT_NAMES)) {
    const m = results.get(name)
    if (m !== undefined && a !== undefined) {
      console.log(`    latency ${name}/aedes: p50 ${fixed(m.p50Ms / a.p50Ms, 1)}×, p99 ${fixed(m.p99Ms / a.p99Ms, 1)}×` +
        (m.cpuUsPerMsg !== null && a.cpuUsPerMsg !== null ? `; server CPU per message ${fixed(m.cpuUsPerMsg / a.cpuUsPerMsg, 1)}×` : ''))
    }
  }
  if (profDir !== undefined) console.log(`    mqchat CPU profile written to ${profDir}`)
}

function report (name: string, r: LoadResult, extra = ''): LoadResult {
  const partial = r.received < r.expected ? `  (only ${int(r.received)} of ${int(r.expected)} arrived within ${RUN_TIMEOUT_MS / 1000} s)` : ''
  const errs = r.publishErrors > 0 ? `  ${int(r.publishErrors)} publish errors` : ''
  console.log(`    ${name.padEnd(12)} ${int(r.msgPerS).padStart(7)} msg/s  p50 ${fixed(r.p50Ms).padStart(7)} ms  p99 ${fixed(r.p99Ms).padStart(7)} ms  max ${fixed(r.maxMs).padStart(7)} ms${errs}${partial}${extra === '' ? '' : '   ' + extra}`)
  const server = r.cpuUsPerMsg === null ? 'server CPU not readable' : `server CPU ${int(r.cpuUsPerMsg)} µs/msg (${int(r.serverCorePct!)}% of a core)`
  console.log(`    ${''.padEnd(12)} ${server}, load generator ${int(r.genCorePct)}% of a core`)
  return r
}

function mosquittoPid (): number | null {
  try {
    const pid = Number(fs.readFileSync('/run/mosquitto/mosquitto.pid', 'utf8').trim())
    return cpuMs(pid) === null ? null : pid
  } catch {
    return null
  }
}

/** Connects the clients, warms up, runs the measured load, and closes the clients. */
async function runLoad (t: Target): Promise<LoadResult> {
  const clients: MqttClient[] = []
  try {
    const connect = async (userid: number, role: string): Promise<MqttClient> => {
      const c = await mqtt.connectAsync(`mqtt://${HOST}:${t.port}`, {
        clientId: `bench-${process.pid}-${role}${userid}`,
        clean: true,
        reconnectPeriod: 0,
        connectTimeout: CONNECT_TIMEOUT_MS,
        ...(await t.login(userid))
      })
      clients.push(c)
      return c
    }
    const receiverIds = Array.from({ length: RECEIVERS }, (_, i) => FIRST_RECEIVER + i)
    const senderIds = Array.from({ length: SENDERS }, (_, i) => FIRST_SENDER + i)
    const receivers = await Promise.all(receiverIds.map((u) => connect(u, 'r')))
    const senders = await Promise.all(senderIds.map((u) => connect(u, 's')))
    await Promise.all(receivers.map((c, i) => c.subscribeAsync(inbox(receiverIds[i]!), { qos: 1 })))

    let ackErrors = 0
    if (t.ackTopic !== undefined) {
      const ackTopic = t.ackTopic
      await Promise.all(senders.map((c, i) => c.subscribeAsync(ackTopic(senderIds[i]!), { qos: 1 })))
      for (const c of senders) {
        c.on('message', (_topic, payload) => {
          if (payload.includes('"error"')) ackErrors++
        })
      }
    }

    // The receivers' tally of the current phase.
    let phase = 'w'
    let expected = 0
    let got = 0
    let lastArrival = 0
    let latencies = new Float64Array(0)
    let arrived: () => void = () => {}
    for (const c of receivers) {
      c.on('message', (_topic, payload) => {
        const now = performance.now()
        let text: unknown
        try { text = t.textOf(JSON.parse(payload.toString('utf8'))) } catch {}
        if (typeof text !== 'string' || text[0] !== phase) return
        latencies[got++] = now - Number(text.slice(2, text.indexOf(' ', 2)))
        lastArrival = now
        if (got === expected) arrived()
      })
    }

    let publishErrors = 0
    let seq = 0
    /** Each sender sends `perSender` messages, WINDOW at a time; resolves when all arrived or at `timeoutMs`. */
    const run = async (tag: string, perSender: number, timeoutMs: number): Promise<{ start: number, complete: boolean }> => {
      phase = tag
      expected = SENDERS * perSender
      got = 0
      latencies = new Float64Array(expected)
      let timer: NodeJS.Timeout | undefined
      const allArrived = new Promise<boolean>((resolve) => {
        arrived = () => resolve(true)
        timer = setTimeout(() => resolve(false), timeoutMs)
      })
      const start = performance.now()
      senders.forEach((c, i) => {
        const from = senderIds[i]!
        let sent = 0
        let acked = 0
        const pump = (): void => {
          while (sent < perSender && sent - acked < WINDOW && !c.disconnected) {
            const to = FIRST_RECEIVER + ((i + sent) % RECEIVERS)
            const payload = JSON.stringify({ to_userid: to, message: `${tag} ${performance.now().toFixed(3)} from ${from}`, type: 0, cid: String(++seq) })
            sent++
            c.publish(t.sendTopic(from, to), payload, { qos: 1 }, (err) => {
              if (err) publishErrors++
              acked++
              pump()
            })
          }
        }
        pump()
      })
      const complete = await allArrived
      clearTimeout(timer)
      return { start, complete }
    }

    const warm = await run('w', WARMUP_PER_SENDER, WARMUP_TIMEOUT_MS)
    if (!warm.complete) throw new Error(`${t.name}: warm-up: only ${got} of ${expected} messages arrived within ${WARMUP_TIMEOUT_MS} ms`)
    const cpuBefore = t.pid === null ? null : cpuMs(t.pid)
    const genBefore = process.cpuUsage()
    const { start } = await run('m', MESSAGES_PER_SENDER, RUN_TIMEOUT_MS)
    const wallMs = performance.now() - start
    const cpuAfter = t.pid === null ? null : cpuMs(t.pid)
    const gen = process.cpuUsage(genBefore)
    const serverMs = cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore
    const received = got
    const sorted = latencies.subarray(0, received).sort()
    const pct = (p: number): number => received === 0 ? NaN : sorted[Math.min(received - 1, Math.ceil((p / 100) * received) - 1)]!
    return {
      received,
      expected: TOTAL,
      msgPerS: received === 0 ? 0 : received / ((lastArrival - start) / 1000),
      p50Ms: pct(50),
      p99Ms: pct(99),
      maxMs: received === 0 ? NaN : sorted[received - 1]!,
      cpuUsPerMsg: serverMs === null || received === 0 ? null : (serverMs * 1000) / received,
      serverCorePct: serverMs === null ? null : (100 * serverMs) / wallMs,
      genCorePct: (100 * (gen.user + gen.system) / 1000) / wallMs,
      ackErrors,
      publishErrors
    }
  } finally {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => {})))
  }
}
