// Node children (`node --import tsx <script>`), for the tests that run mqchat as a real
// process and for the benches: both streams read line by line to their end (a child never
// blocks on a full pipe), a promise of the exit, a wait for a log line, and a stop that
// escalates from SIGTERM to SIGKILL.
import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { createInterface } from 'node:readline'

export const ROOT = path.resolve(import.meta.dirname, '../..')

/** A child that has not exited this long after SIGTERM is killed. */
export const STOP_GRACE_MS = 5000

export interface NodeChild {
  proc: ChildProcess
  pid: number
  /** all it wrote so far (empty with `keep: false`) */
  stdout: () => string
  stderr: () => string
  /** resolves with the exit code, the signal's name, or `spawn failed: …` */
  exited: Promise<number | string>
  hasExited: () => boolean
  /** Calls `fn` with each line either stream writes from now on. */
  onLine: (fn: (line: string, stream: 'stdout' | 'stderr') => void) => void
  /**
   * Resolves with the first stdout line from now on that is JSON and passes `match` (parsed);
   * rejects if the child exits first, or after `timeoutMs` when one is given.
   */
  line: (match: (json: any) => boolean, what: string, timeoutMs?: number) => Promise<any>
  /** SIGTERM, SIGKILL after `graceMs`; resolves with how it ended. */
  stop: (graceMs?: number) => Promise<number | string>
}

export function spawnNode (script: string, opts: {
  env: NodeJS.ProcessEnv
  nodeFlags?: string[]
  /** 'pipe': a stdin the child may watch, that closes when this process dies */
  stdin?: 'ignore' | 'pipe'
  /** keep everything written, for stdout() and stderr() (default true) */
  keep?: boolean
}): NodeChild {
  const proc = spawn(process.execPath, [...(opts.nodeFlags ?? []), '--import', 'tsx', script], {
    cwd: ROOT,
    env: opts.env,
    stdio: [opts.stdin ?? 'ignore', 'pipe', 'pipe']
  })
  const keep = opts.keep ?? true
  let out = ''
  let err = ''
  if (keep) {
    proc.stdout!.on('data', (b) => { out += b })
    proc.stderr!.on('data', (b) => { err += b })
  }
  const listeners: Array<(line: string, stream: 'stdout' | 'stderr') => void> = []
  createInterface({ input: proc.stdout! }).on('line', (l) => { for (const fn of listeners) fn(l, 'stdout') })
  createInterface({ input: proc.stderr! }).on('line', (l) => { for (const fn of listeners) fn(l, 'stderr') })
  let done = false
  const exited = new Promise<number | string>((resolve) => {
    // 'close', not 'exit': by then everything the child wrote has been read.
    proc.once('close', (code, signal) => { done = true; resolve(code ?? signal ?? -1) })
    proc.once('error', (e) => { done = true; resolve(`spawn failed: ${e.message}`) })
  })
  const child: NodeChild = {
    proc,
    pid: proc.pid ?? -1,
    stdout: () => out,
    stderr: () => err,
    exited,
    hasExited: () => done || proc.exitCode !== null || proc.signalCode !== null,
    onLine: (fn) => { listeners.push(fn) },
    line: (match, what, timeoutMs) => new Promise<any>((resolve, reject) => {
      let settled = false
      const settle = (fn: () => void): void => { if (!settled) { settled = true; clearTimeout(timer); fn() } }
      const timer = timeoutMs === undefined ? undefined : setTimeout(() => settle(() => reject(new Error(`no ${what} within ${timeoutMs} ms`))), timeoutMs)
      child.onLine((l, stream) => {
        if (settled || stream !== 'stdout') return
        let json: unknown
        try { json = JSON.parse(l) } catch { return }
        if (match(json)) settle(() => resolve(json))
      })
      void exited.then((code) => settle(() => reject(new Error(`exited (${code}) before ${what}`))))
    }),
    stop: async (graceMs = STOP_GRACE_MS) => {
      if (!child.hasExited()) {
        proc.kill('SIGTERM')
        const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs)
        await exited
        clearTimeout(timer)
      }
      proc.stdin?.destroy()
      return exited
    }
  }
  return child
}
