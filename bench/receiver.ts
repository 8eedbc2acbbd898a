// The callback bench's receiver, seen from the bench: starts bench/callback-receiver.ts in its
// own process and reads what it recorded under a tag (bench/chat.ts uses it too).
import path from 'node:path'
import { sleep } from './clients.ts'
import { HOST, ROOT, spawnNode } from './processes.ts'

/** A measured run is cut short after this. */
export const RUN_TIMEOUT_MS = 60_000

export interface Stats { count: number, distinct: number, first: number, last: number, lagP50: number | null, lagP99: number | null, lagMax: number | null }

export interface Receiver {
  origins: [string, string]
  stats: (tag: string) => Promise<Stats>
  /** Resolves with the stats once `n` distinct events have arrived under `tag` (or at the time limit). */
  until: (tag: string, n: number, timeoutMs?: number) => Promise<Stats>
}

export async function startReceiver (): Promise<{ rx: Receiver, stop: () => Promise<void> }> {
  const { child, readyLine } = await spawnNode('callback receiver', path.join(ROOT, 'bench', 'callback-receiver.ts'), { ready: (l) => Array.isArray(l.ports) })
  const origins = readyLine.ports.map((p: number) => `http://${HOST}:${p}`) as [string, string]
  const stats = async (tag: string): Promise<Stats> => (await fetch(`${origins[0]}/stats/${tag}`)).json() as Promise<Stats>
  const until = async (tag: string, n: number, timeoutMs = RUN_TIMEOUT_MS): Promise<Stats> => {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const s = await stats(tag)
      if (s.distinct >= n || Date.now() > deadline) return s
      await sleep(20)
    }
  }
  return { rx: { origins, stats, until }, stop: () => child.stop() }
}
