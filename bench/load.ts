// The chat load: "50 senders each sending 200 QoS 1 messages to 50 receivers", against one
// broker or spread over several (the cluster bench), and its report line; see bench/chat.ts
// for how it is built.
import { performance } from 'node:perf_hooks'
import mqtt, { type MqttClient } from 'mqtt'
import { cpuMs, fixed, int } from './measure.ts'
import { HOST } from './processes.ts'
import { MQCHAT_DOMAIN } from './targets.ts'

export const SENDERS = 50
export const RECEIVERS = 50
export const MESSAGES_PER_SENDER = 200
export const FIRST_SENDER = 1
export const FIRST_RECEIVER = 1001
/** PUBACKs each sender may be waiting for at once. */
export const WINDOW = Number(process.env.BENCH_WINDOW ?? 10)
/** Warm-up messages per sender (50 × 4 = 200), sent and received before measuring. */
export const WARMUP_PER_SENDER = 4
const WARMUP_TIMEOUT_MS = 15_000
/** The measured run is cut short after this; what arrived by then is reported. */
const RUN_TIMEOUT_MS = 30_000
const CONNECT_TIMEOUT_MS = 5000

export const TOTAL = SENDERS * MESSAGES_PER_SENDER

export interface Target {
  name: string
  /**
   * Where the clients connect: sender i (0-based) to ports[i % n], receiver j to
   * ports[j % n]. One port for one broker; one per node for a cluster.
   */
  ports: number[]
  /** the server processes (one per port), to read their CPU time; empty for none */
  pids: number[]
  /** MQTT username and password for a user; undefined for none */
  login: (userid: number) => Promise<{ username?: string, password?: string }>
  /** where a sender publishes a message for `to` */
  sendTopic: (from: number, to: number) => string
  /** the message text in an inbox payload */
  textOf: (payload: any) => unknown
  /** where the server acks a sender; undefined when it does not */
  ackTopic?: (userid: number) => string
  /** run just before the measured run starts and just after its last message arrived (counters read from outside) */
  around?: { start: () => Promise<void>, end: () => Promise<void> }
}

export interface LoadResult {
  received: number
  expected: number
  msgPerS: number
  p50Ms: number
  p99Ms: number
  maxMs: number
  /** server CPU time per message, in µs, all server processes together; null when not readable */
  cpuUsPerMsg: number | null
  /** the same for each server process (in the order of Target.pids); null when not readable */
  cpuUsPerMsgByPid: number[] | null
  /** share of one core the servers used during the run, together; null when not readable */
  serverCorePct: number | null
  /** share of one core this process (the load generator) used during the run */
  genCorePct: number
  /** share of the measured messages whose sender and receiver are on different ports (nodes) */
  crossShare: number
  ackErrors: number
  publishErrors: number
}

export const inbox = (u: number): string => `chat/${MQCHAT_DOMAIN}/${u}/inbox`

export function report (name: string, r: LoadResult, extra = ''): LoadResult {
  const partial = r.received < r.expected ? `  (only ${int(r.received)} of ${int(r.expected)} arrived within ${RUN_TIMEOUT_MS / 1000} s)` : ''
  const errs = r.publishErrors > 0 ? `  ${int(r.publishErrors)} publish errors` : ''
  console.log(`    ${name.padEnd(12)} ${int(r.msgPerS).padStart(7)} msg/s  p50 ${fixed(r.p50Ms).padStart(7)} ms  p99 ${fixed(r.p99Ms).padStart(7)} ms  max ${fixed(r.maxMs).padStart(7)} ms${errs}${partial}${extra === '' ? '' : '   ' + extra}`)
  const server = r.cpuUsPerMsg === null ? 'server CPU not readable' : `server CPU ${int(r.cpuUsPerMsg)} µs/msg (${int(r.serverCorePct!)}% of a core)`
  console.log(`    ${''.padEnd(12)} ${server}, load generator ${int(r.genCorePct)}% of a core`)
  return r
}

/** Connects the clients, warms up, runs the measured load, and closes the clients. */
export async function runLoad (t: Target): Promise<LoadResult> {
  const clients: MqttClient[] = []
  try {
    const connect = async (userid: number, role: string, i: number): Promise<MqttClient> => {
      const c = await mqtt.connectAsync(`mqtt://${HOST}:${t.ports[i % t.ports.length]!}`, {
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
    const receivers = await Promise.all(receiverIds.map((u, i) => connect(u, 'r', i)))
    const senders = await Promise.all(senderIds.map((u, i) => connect(u, 's', i)))
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
    await t.around?.start()
    const cpuBefore = t.pids.map(cpuMs)
    const genBefore = process.cpuUsage()
    const { start } = await run('m', MESSAGES_PER_SENDER, RUN_TIMEOUT_MS)
    const wallMs = performance.now() - start
    const cpuAfter = t.pids.map(cpuMs)
    const gen = process.cpuUsage(genBefore)
    await t.around?.end()
    const byPid = t.pids.length === 0 || [...cpuBefore, ...cpuAfter].includes(null) ? null : t.pids.map((_, i) => cpuAfter[i]! - cpuBefore[i]!)
    const serverMs = byPid === null ? null : byPid.reduce((a, b) => a + b, 0)
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
      cpuUsPerMsgByPid: byPid === null || received === 0 ? null : byPid.map((ms) => (ms * 1000) / received),
      crossShare: crossShare(t.ports.length),
      serverCorePct: serverMs === null ? null : (100 * serverMs) / wallMs,
      genCorePct: (100 * (gen.user + gen.system) / 1000) / wallMs,
      ackErrors,
      publishErrors
    }
  } finally {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => {})))
  }
}

/** Share of the measured messages (sender i's k-th goes to receiver (i + k) % RECEIVERS) sent across nodes. */
function crossShare (nodes: number): number {
  let cross = 0
  for (let i = 0; i < SENDERS; i++) {
    for (let k = 0; k < MESSAGES_PER_SENDER; k++) {
      if (i % nodes !== ((i + k) % RECEIVERS) % nodes) cross++
    }
  }
  return cross / TOTAL
}
