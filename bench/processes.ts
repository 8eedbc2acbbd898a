// The bench's child processes: started with `node --import tsx`, their output read to its end,
// and always stopped (on error, Ctrl-C, the deadline, and this process's exit too). The Node
// child itself comes from the test kit (test/helpers/child.ts).
import { ROOT, spawnNode as spawnChild, STOP_GRACE_MS, type NodeChild } from '../test/helpers/child.ts'

export { ROOT }
export const HOST = '127.0.0.1'

/** Longest a child may take to say it is listening. */
const READY_TIMEOUT_MS = 20_000

export interface Child {
  name: string
  proc: NodeChild['proc']
  pid: number
  /** the last lines it wrote, for an error message */
  tail: string[]
  /** lines it logged at warn level or above (pino: level >= 40) */
  problems: string[]
  /** Stops it (SIGTERM, then SIGKILL after a grace time) and runs its cleanup. */
  stop: () => Promise<void>
}

const children = new Set<Child>()
const cleanups = new Map<Child, () => void>()

/** Every child still running, SIGKILLed at once; for process exit, where nothing can wait. */
export function killAllNow (): void {
  for (const c of children) {
    try { c.proc.kill('SIGKILL') } catch {}
    cleanups.get(c)?.()
  }
  children.clear()
}

/** Every child still running, stopped (SIGTERM, then SIGKILL after a grace time). */
export async function stopChildren (): Promise<void> {
  await Promise.all([...children].map((c) => c.stop()))
}

process.on('exit', killAllNow)

/**
 * Starts `node --import tsx <script>` and resolves once a stdout line passes `ready`
 * (its parsed JSON is returned). Its output is read to its end, so the child never blocks.
 */
export async function spawnNode (name: string, script: string, opts: {
  env?: Record<string, string>
  nodeFlags?: string[]
  ready: (line: any) => boolean
  /** runs once the child has exited (also when this process exits first) */
  cleanup?: () => void
}): Promise<{ child: Child, readyLine: any }> {
  // stdin is a pipe the child may watch: it closes when this process dies.
  const c = spawnChild(script, { env: { ...inheritedEnv(), ...opts.env }, nodeFlags: opts.nodeFlags ?? [], stdin: 'pipe', keep: false })
  const tail: string[] = []
  const problems: string[] = []
  c.onLine((line, stream) => {
    tail.push(line)
    if (tail.length > 20) tail.shift()
    if (stream !== 'stdout') return
    let parsed: any = null
    try { parsed = JSON.parse(line) } catch {}
    if (parsed !== null && typeof parsed.level === 'number' && parsed.level >= 40) problems.push(line)
  })
  let ready = false
  const child: Child = {
    name,
    proc: c.proc,
    pid: c.pid,
    tail,
    problems,
    async stop () {
      if (!children.delete(child)) return
      if (c.hasExited() && ready) {
        console.log(`    (${name} had exited by itself: exit code ${c.proc.exitCode}, signal ${c.proc.signalCode}; its last lines:\n      ${tail.join('\n      ')})`)
      } else if (!c.hasExited()) {
        const t0 = Date.now()
        await c.stop(STOP_GRACE_MS)
        // A clean stop is part of what the bench sees: say when it was not.
        if (c.proc.exitCode !== 0) {
          console.log(`    (${name} did not stop cleanly on SIGTERM: exit code ${c.proc.exitCode}, signal ${c.proc.signalCode}, after ${Date.now() - t0} ms)`)
        }
      }
      c.proc.stdin?.destroy()
      cleanups.get(child)?.()
      cleanups.delete(child)
    }
  }
  children.add(child)
  if (opts.cleanup !== undefined) cleanups.set(child, opts.cleanup)
  try {
    const readyLine = await c.line(opts.ready, 'its ready line', READY_TIMEOUT_MS)
    ready = true
    return { child, readyLine }
  } catch (err) {
    await child.stop()
    throw new Error(`${name}: ${(err as Error).message}; its last lines:\n  ${tail.join('\n  ')}`)
  }
}

/** This process's environment without MQCHAT_* settings: the shell's must not change the bench. */
function inheritedEnv (): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MQCHAT_')))
}
