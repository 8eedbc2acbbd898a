// `npm run bench`: every bench in sequence, each printing its figures. Every child process
// is stopped at the end, on error and on Ctrl-C too.
//   BENCH_WINDOW=<n>       unacked QoS 1 publishes per sender in the chat load (default 10)
//   BENCH_CPU_PROF=<dir>   the mqchat children of the chat load and of the callbacks bench
//                          write a V8 CPU profile there
import os from 'node:os'
import { callbacksBench } from './callbacks.ts'
import { chatBench } from './chat.ts'
import { conversationsBench } from './conversations.ts'
import { filesBench } from './files.ts'
import { clusterBench } from './cluster.ts'
import { idleBench } from './idle.ts'
import { widgetBench } from './widget.ts'
import type { LoadResult } from './load.ts'
import { stopAll } from './targets.ts'

/**
 * The whole run is cut short after this. The benches take about ten minutes on a loaded
 * 2-core box: chat (also with callbacks on), idle (10,000 connections), callbacks on SQLite
 * and PostgreSQL (with the live lag), the cluster (five clusters, four of them waiting 11 s
 * for PostgreSQL's statistics), conversations, files and the widget.
 */
const OVERALL_DEADLINE_MS = 900_000

/** The chat bench's figures, which the cluster bench prints its own beside (no second measurement). */
let single = new Map<string, LoadResult>()
const benches: Array<[string, () => Promise<void>]> = [
  ['chat', async () => { single = await chatBench() }],
  ['cluster', () => clusterBench(single)],
  ['idle', idleBench],
  ['callbacks', callbacksBench],
  ['conversations', conversationsBench],
  ['files', filesBench],
  ['widget', widgetBench]
]

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    console.error(`bench: ${signal}, stopping`)
    void stopAll().finally(() => process.exit(130))
  })
}
const deadline = setTimeout(() => {
  console.error(`bench: still running after ${OVERALL_DEADLINE_MS / 1000} s, stopping`)
  void stopAll().finally(() => process.exit(1))
}, OVERALL_DEADLINE_MS)
deadline.unref()

let failed = false
const t0 = Date.now()
console.log(`mqchat bench, node ${process.version}, ${os.cpus().length} CPUs`)
for (const [name, bench] of benches) {
  try {
    await bench()
  } catch (err) {
    failed = true
    console.error(`bench ${name} failed: ${(err as Error).stack ?? String(err)}`)
  }
}
await stopAll()
console.log(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
// Sockets the mqtt clients left half-closed must not keep the process alive.
process.exit(failed ? 1 : 0)
