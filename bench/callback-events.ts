// The callbacks bench's events: how many, made through mqchat's REST API (Creator) or as the
// bodies mqchat would sign (eventBody), and how mqchat's side of them is read back (the
// pending count, the attempt logs).
import { performance } from 'node:perf_hooks'
import { Pool } from 'undici'
import { sleep } from './clients.ts'
import { HOST } from './processes.ts'
import type { Mqchat } from './targets.ts'

export const USERS = 1000
export const PER_USER = 10
export const EVENTS = USERS * PER_USER
/** Warm-up events (one per user) before each measured run: JIT, connections, caches. */
export const WARMUP = USERS
/** Connections the load generator creates mqchat's events over. */
export const CREATE_CONNECTIONS = 32

export const clock = (): number => performance.timeOrigin + performance.now()

/** A message event's body, as mqchat writes it (SPEC §4.2), with the creation time in its text. */
export function eventBody (from: number, id: number, now: number): string {
  return JSON.stringify({ from_userid: from, message: { id, message: `t=${now.toFixed(3)}`, p1: '', p2: '', p3: '', timestamp: Math.floor(now / 1000), type: 0 }, to_userid: 1 })
}

/** Messages sent through mqchat's REST API; resolves when all were answered. */
export class Creator {
  private readonly pool: Pool
  failures = 0

  constructor (mq: Mqchat) {
    this.pool = new Pool(`http://${HOST}:${mq.httpPort}`, { connections: CREATE_CONNECTIONS, pipelining: 1 })
  }

  async send (domain: string, key: string, from: number): Promise<void> {
    const res = await this.pool.request({
      path: `/api/v1/domains/${domain}/messages`,
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ from_userid: from, to_userid: 1, message: `t=${clock().toFixed(3)}`, type: 0 })
    })
    await res.body.text()
    if (res.statusCode !== 201) this.failures++
  }

  /** `n` events, users round-robin, as fast as they are answered. */
  async burst (domain: string, key: string, n: number): Promise<void> {
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < n) await this.send(domain, key, 1 + (next++ % USERS))
    }
    await Promise.all(Array.from({ length: CREATE_CONNECTIONS }, worker))
  }

  /** `n` events, users round-robin, at `perS` a second (each on time, however slow the answers). */
  async paced (domain: string, key: string, n: number, perS: number): Promise<void> {
    const t0 = performance.now()
    const sends: Array<Promise<void>> = []
    while (sends.length < n) {
      const due = Math.min(n, Math.floor(((performance.now() - t0) * perS) / 1000) + 1)
      while (sends.length < due) sends.push(this.send(domain, key, 1 + (sends.length % USERS)))
      await sleep(5)
    }
    await Promise.all(sends)
  }

  close (): Promise<void> {
    return this.pool.close()
  }
}

export async function setCallback (mq: Mqchat, domain: string, key: string, url: string, enabled = true): Promise<void> {
  await mq.api('PUT', `/domains/${domain}/callbacks/messages`, { url, enabled }, 200, key)
}

/** The domain's pending count once it is 0, or after 5 s. */
export async function settledPending (mq: Mqchat, domain: string, key: string): Promise<number> {
  let pending = -1
  for (let i = 0; i < 100 && pending !== 0; i++) {
    pending = (await mq.api('GET', `/domains/${domain}/callbacks/messages`, undefined, 200, key)).pending
    if (pending !== 0) await sleep(50)
  }
  return pending
}

/** Each delivery's attempt is logged in the transaction that completes it: count them. */
export async function countLogs (mq: Mqchat, domain: string, key: string): Promise<{ ok: number, failed: number }> {
  let ok = 0
  let failed = 0
  let before: number | undefined
  for (;;) {
    const page = await mq.api('GET', `/domains/${domain}/callbacks/messages/logs?limit=500${before === undefined ? '' : `&before=${before}`}`, undefined, 200, key)
    for (const l of page.items) l.result === 'ok' ? ok++ : failed++
    if (page.items.length < 500) break
    before = page.items.at(-1).id
  }
  return { ok, failed }
}
