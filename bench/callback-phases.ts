// The callbacks bench's runs on one mqchat child, each returning (or printing) its figures:
// throughput (with the dispatcher alone, by replay), the replay drain of held events, the
// live lag at a steady rate, and the isolation of one domain from another's slow receiver.
// bench/callbacks.ts says what each measures and prints the lines.
import { PER_DOMAIN_IN_FLIGHT } from '../src/callbacks/dispatcher.ts'
import { clock, countLogs, Creator, EVENTS, setCallback, settledPending, USERS, WARMUP } from './callback-events.ts'
import { cpuMs, fixed, int, pgAdmin, pgBackendsCpuMs } from './measure.ts'
import { RUN_TIMEOUT_MS, type Receiver, type Stats } from './receiver.ts'
import { MQCHAT_DOMAIN, type Mqchat } from './targets.ts'

/** Isolation: domain B's steady load. */
const ISO_RATE = 1000
const ISO_EVENTS = 2000
/** The live lag: events at this steady rate through the API, each called back as it comes. */
const LIVE_RATE = 500
const LIVE_EVENTS = 2500
/** B's same-origin run is measured after this, whatever has arrived (it needs retries). */
const SAME_ORIGIN_WAIT_MS = 15_000
/** The replay drain's domain. */
const DRAIN_DOMAIN = 'drain'

export async function throughput (mq: Mqchat, rx: Receiver, replay: boolean): Promise<{ perS: number, createdPerS: number, corePct: number | null, replayPerS: number, replayed: number, s: Stats, logsOk: number, logsFailed: number, pending: number }> {
  const creator = new Creator(mq)
  try {
    await setCallback(mq, MQCHAT_DOMAIN, mq.apiKey, `${rx.origins[0]}/warm-mq`)
    await creator.burst(MQCHAT_DOMAIN, mq.apiKey, WARMUP)
    await rx.until('warm-mq', WARMUP)
    await setCallback(mq, MQCHAT_DOMAIN, mq.apiKey, `${rx.origins[0]}/mq`)
    const cpu0 = cpuMs(mq.child.pid)
    const t0 = clock()
    await creator.burst(MQCHAT_DOMAIN, mq.apiKey, EVENTS)
    const createdPerS = EVENTS / ((clock() - t0) / 1000)
    const s = await rx.until('mq', EVENTS)
    if (creator.failures > 0) console.log(`    mqchat: ${creator.failures} sends were not answered 201`)
    const pending = await settledPending(mq, MQCHAT_DOMAIN, mq.apiKey)
    const { ok: logsOk, failed: logsFailed } = await countLogs(mq, MQCHAT_DOMAIN, mq.apiKey)
    const cpu1 = cpuMs(mq.child.pid)
    const perS = s.distinct / ((s.last - t0) / 1000)
    const corePct = cpu0 === null || cpu1 === null ? null : (100 * (cpu1 - cpu0)) / (s.last - t0)

    if (!replay) return { perS, createdPerS, corePct, replayPerS: NaN, replayed: 0, s, logsOk, logsFailed, pending }
    // The dispatcher alone: the same events, already written, sent again with `replay`
    // (nothing else for mqchat to do meanwhile).
    await setCallback(mq, MQCHAT_DOMAIN, mq.apiKey, `${rx.origins[0]}/replay`)
    const r0 = clock()
    let replayPerS = NaN
    let queued = 0
    try {
      queued = (await mq.api('POST', `/domains/${MQCHAT_DOMAIN}/callbacks/messages/replay`, { since: Math.floor(t0 / 1000) }, 200)).queued
      const rs = await rx.until('replay', queued)
      replayPerS = rs.distinct / ((rs.last - r0) / 1000)
    } catch (err) {
      console.log(`    replay failed: ${(err as Error).message}`)
    }
    return { perS, createdPerS, corePct, replayPerS, replayed: queued, s, logsOk, logsFailed, pending }
  } finally {
    await creator.close()
  }
}

/** The replay drain: EVENTS held events (written with the callback off), then on and replayed since 0. */
export async function replayDrain (mq: Mqchat, rx: Receiver): Promise<{ perS: number, replayCallMs: number, queued: number, s: Stats, logs: { ok: number, failed: number }, pending: number, cpu: { mqUs: number | null, pgUs: number | null } }> {
  const { apiKey: key } = await mq.api('POST', '/domains', { id: DRAIN_DOMAIN, name: 'Drain' }, 201, mq.adminKey)
  const creator = new Creator(mq)
  try {
    await setCallback(mq, DRAIN_DOMAIN, key, `${rx.origins[0]}/drain`, false)
    await creator.burst(DRAIN_DOMAIN, key, EVENTS)
    if (creator.failures > 0) console.log(`    replay drain: ${creator.failures} sends were not answered 201`)
    await setCallback(mq, DRAIN_DOMAIN, key, `${rx.origins[0]}/drain`)
    // Where a delivery's CPU goes: mqchat's process, and on PostgreSQL its backends.
    const admin = mq.database === undefined ? null : await pgAdmin()
    try {
      const sumCpu = async (): Promise<{ mq: number | null, pg: number | null }> => ({
        mq: cpuMs(mq.child.pid),
        pg: admin === null ? null : [...(await pgBackendsCpuMs(admin, mq.database!)).values()].reduce((a, b) => a + b, 0)
      })
      const before = await sumCpu()
      const t0 = clock()
      const queued: number = (await mq.api('POST', `/domains/${DRAIN_DOMAIN}/callbacks/messages/replay`, { since: 0 }, 200, key)).queued
      const replayCallMs = clock() - t0
      const s = await rx.until('drain', EVENTS)
      const after = await sumCpu()
      const perS = s.distinct / ((s.last - t0) / 1000)
      const us = (a: number | null, b: number | null): number | null => a === null || b === null || s.distinct === 0 ? null : ((b - a) * 1000) / s.distinct
      const cpu = { mqUs: us(before.mq, after.mq), pgUs: us(before.pg, after.pg) }
      const pending = await settledPending(mq, DRAIN_DOMAIN, key)
      return { perS, replayCallMs, queued, s, logs: await countLogs(mq, DRAIN_DOMAIN, key), pending, cpu }
    } finally {
      await admin?.end()
    }
  } finally {
    await creator.close()
  }
}

/**
 * The live lag: a domain of its own sends LIVE_RATE events a second through the API (the
 * customer's server), for LIVE_EVENTS events; lag = the callback's arrival − the send call
 * (the time in the message text), p50 and p99.
 */
export async function liveLag (mq: Mqchat, rx: Receiver, name: string): Promise<void> {
  const creator = new Creator(mq)
  try {
    const d = await mq.api('POST', '/domains', { id: 'live', name: 'Live' }, 201, mq.adminKey)
    await setCallback(mq, 'live', d.apiKey, `${rx.origins[0]}/live-warm`)
    await creator.paced('live', d.apiKey, LIVE_RATE, LIVE_RATE)
    await rx.until('live-warm', LIVE_RATE)
    await setCallback(mq, 'live', d.apiKey, `${rx.origins[0]}/live`)
    await creator.paced('live', d.apiKey, LIVE_EVENTS, LIVE_RATE)
    const s = await rx.until('live', LIVE_EVENTS)
    const lost = s.distinct < LIVE_EVENTS ? `  (only ${int(s.distinct)} of ${int(LIVE_EVENTS)} arrived)` : ''
    console.log(`    ${''.padEnd(10)} live: ${int(LIVE_EVENTS)} events at ${int(LIVE_RATE)}/s through the API, send call → callback p50 ${fixed(s.lagP50 ?? NaN)} ms  p99 ${fixed(s.lagP99 ?? NaN)} ms  max ${fixed(s.lagMax ?? NaN)} ms${lost}`)
    await setCallback(mq, 'live', d.apiKey, `${rx.origins[0]}/live`, false)
    if (creator.failures > 0) console.log(`    ${name} live: ${creator.failures} sends were not answered 201`)
  } finally {
    await creator.close()
  }
}

export async function isolation (mq: Mqchat, rx: Receiver): Promise<void> {
  console.log(`  isolation: domain B's events at ${int(ISO_RATE)}/s (${int(ISO_EVENTS)} events, users 1..${int(USERS)}), its lag from event to arrival:`)
  const creator = new Creator(mq)
  try {
    const a = await mq.api('POST', '/domains', { id: 'iso-a', name: 'A' }, 201, mq.adminKey)
    const b = await mq.api('POST', '/domains', { id: 'iso-b', name: 'B' }, 201, mq.adminKey)
    const runB = async (tag: string, timeoutMs = RUN_TIMEOUT_MS): Promise<Stats> => {
      await setCallback(mq, 'iso-b', b.apiKey, `${rx.origins[0]}/${tag}`)
      await creator.paced('iso-b', b.apiKey, ISO_EVENTS, ISO_RATE)
      return rx.until(tag, ISO_EVENTS, timeoutMs)
    }
    /** B's failed attempts so far, by reason. */
    const bFailures = async (): Promise<Map<string, number>> => {
      const out = new Map<string, number>()
      const page = await mq.api('GET', '/domains/iso-b/callbacks/messages/logs?limit=500&result=failed', undefined, 200, b.apiKey)
      for (const l of page.items) out.set(l.error, (out.get(l.error) ?? 0) + 1)
      return out
    }
    const line = (name: string, s: Stats, alone?: Stats): void => {
      const vs = alone === undefined ? '' : `   (${fixed(s.lagP50! / alone.lagP50!, 1)}×, ${fixed(s.lagP99! / alone.lagP99!, 1)}× B alone)`
      const lost = s.distinct < ISO_EVENTS ? `  (only ${int(s.distinct)} of ${int(ISO_EVENTS)} had arrived when measured)` : ''
      console.log(`    ${name.padEnd(46)} p50 ${fixed(s.lagP50 ?? NaN).padStart(7)} ms  p99 ${fixed(s.lagP99 ?? NaN).padStart(7)} ms${vs}${lost}`)
    }
    // Warm B's path up, then B alone.
    await runB('warm-b')
    const alone = await runB('b-alone')
    line('B alone', alone)

    // A: a backlog of one event per user behind a receiver taking 2 s each; B only starts
    // once A has its whole share of deliveries in flight.
    await setCallback(mq, 'iso-a', a.apiKey, `${rx.origins[1]}/slow/a-other`)
    await creator.burst('iso-a', a.apiKey, USERS)
    await rx.until('a-other', PER_DOMAIN_IN_FLIGHT, 10_000)
    const withA = await runB('b-with-a')
    const aOther = await rx.stats('a-other')
    line(`B, A's receiver 2 s per request (other origin)`, withA, alone)

    // The same slow receiver of A, now on the origin (host:port) that B's receiver uses.
    await setCallback(mq, 'iso-a', a.apiKey, `${rx.origins[0]}/slow/a-same`)
    await rx.until('a-same', PER_DOMAIN_IN_FLIGHT, 10_000)
    const failedBefore = [...(await bFailures()).values()].reduce((x, y) => x + y, 0)
    const sameOrigin = await runB('b-same-origin', SAME_ORIGIN_WAIT_MS)
    const aSame = await rx.stats('a-same')
    line(`B, A's receiver 2 s per request (same origin)`, sameOrigin, alone)
    console.log(`    ${''.padEnd(46)} (A meanwhile: ${aOther.count} and ${aSame.count} requests arrived at its slow receivers)`)
    const failures = await bFailures()
    const failed = [...failures.values()].reduce((x, y) => x + y, 0) - failedBefore
    if (failed > 0) {
      const [reason, n] = [...failures].sort((x, y) => y[1] - x[1])[0]!
      console.log(`    ${''.padEnd(46)} B's attempts that failed meanwhile: ${failed >= 500 ? '500 or more' : int(failed)}, e.g. ${n}× "${reason}"`)
    }
    await setCallback(mq, 'iso-a', a.apiKey, `${rx.origins[0]}/slow/a-same`, false)
    await setCallback(mq, 'iso-b', b.apiKey, `${rx.origins[0]}/b-same-origin`, false)
    if (creator.failures > 0) console.log(`    isolation: ${creator.failures} sends were not answered 201`)
  } finally {
    await creator.close()
  }
}
