// mqchat as a real process (`node --import tsx src/main.ts`), for what only a process shows:
// start-up errors, exit codes, signals, crashes.
import type { ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { TestContext } from 'node:test'
import { spawnNode } from './child.ts'
import { restClient, type Rest } from './rest.ts'

export interface Proc {
  child: ChildProcess
  stdout: () => string
  stderr: () => string
  /** resolves with the exit code (or the signal name) */
  exited: Promise<number | string>
  /** the ports from the "mqchat ready" log line */
  ready: Promise<{ mqttPort: number, httpPort: number }>
}

export function tempDir (t: TestContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqchat-proc-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

export function run (t: TestContext, env: Record<string, string>): Proc {
  const c = spawnNode('src/main.ts', {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, MQCHAT_HOST: '127.0.0.1', MQCHAT_HTTP_PORT: '0', MQCHAT_MQTT_PORT: '0', ...env }
  })
  const ready = c.line((l) => l.msg === 'mqchat ready', 'the "mqchat ready" line')
    .then((l) => ({ mqttPort: l.mqttPort as number, httpPort: l.httpPort as number }))
    .catch((err: Error) => { throw new Error(`mqchat ${err.message}: ${c.stderr()}`) })
  ready.catch(() => {})
  t.after(() => { if (!c.hasExited()) c.proc.kill('SIGKILL') })
  return { child: c.proc, stdout: c.stdout, stderr: c.stderr, exited: c.exited, ready }
}

/** The REST API of a process started with `run`, on 127.0.0.1 at `httpPort`. */
export const processApi = (httpPort: number, operatorKey: string): Rest => restClient(`http://127.0.0.1:${httpPort}`, operatorKey)
