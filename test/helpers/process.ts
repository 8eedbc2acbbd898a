// mqchat as a real process (`node --import tsx src/main.ts`), for what only a process shows:
// start-up errors, exit codes, signals, crashes.
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { TestContext } from 'node:test'

const ROOT = path.resolve(import.meta.dirname, '../..')

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
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, MQCHAT_HOST: '127.0.0.1', MQCHAT_HTTP_PORT: '0', MQCHAT_MQTT_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  let err = ''
  child.stdout!.on('data', (b) => { out += b })
  child.stderr!.on('data', (b) => { err += b })
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)))
  const ready = new Promise<{ mqttPort: number, httpPort: number }>((resolve, reject) => {
    const look = (): void => {
      for (const line of out.split('\n')) {
        if (line.includes('"mqchat ready"')) {
          const j = JSON.parse(line)
          return resolve({ mqttPort: j.mqttPort, httpPort: j.httpPort })
        }
      }
    }
    child.stdout!.on('data', look)
    void exited.then((code) => reject(new Error(`mqchat exited (${code}) before it was ready: ${err}`)))
  })
  ready.catch(() => {})
  t.after(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  return { child, stdout: () => out, stderr: () => err, exited, ready }
}
