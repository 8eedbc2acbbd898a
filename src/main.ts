// Composition root: config → logger → services; signals; nothing else.
import { startApp, type App } from './app.ts'
import { loadConfig, unknownSettings } from './config.ts'
import { SetupError } from './errors.ts'
import { createLogger } from './log.ts'

/** A stop that takes longer than this is cut short (in-flight work has had its chance). */
const STOP_DEADLINE_MS = 20_000

function fail (line: string): never {
  process.stderr.write(`mqchat: ${line}\n`)
  process.exit(1)
}

async function main (): Promise<void> {
  let config
  try {
    config = loadConfig()
  } catch (err) {
    if (err instanceof SetupError) fail(err.problems.join('\nmqchat: '))
    throw err
  }
  const log = createLogger(config.logLevel)
  for (const name of unknownSettings()) log.warn({ setting: name }, `unknown setting ${name} is ignored (a typo?)`)

  // Signals are handled from the first moment: one that arrives while starting stops the
  // server as soon as it has started (and is not lost to Node's default of dying at once).
  let app: App | null = null
  let signal: string | null = null
  const stop = (running: App): void => {
    log.info({ signal }, 'stopping')
    const deadline = setTimeout(() => {
      log.error('stop took too long; exiting')
      process.exit(1)
    }, STOP_DEADLINE_MS).unref()
    running.stop().then(() => {
      clearTimeout(deadline)
      log.info('stopped')
      process.exit(0)
    }, (err) => {
      log.error({ err }, 'stop failed')
      process.exit(1)
    })
  }
  const shutdown = (name: string): void => {
    if (signal !== null) return
    signal = name
    if (app !== null) stop(app)
  }
  process.on('SIGTERM', () => shutdown('SIGTERM'))
  process.on('SIGINT', () => shutdown('SIGINT'))

  try {
    app = await startApp(config, log)
  } catch (err) {
    if (err instanceof SetupError) fail(err.problems.join('\nmqchat: '))
    const e = err as NodeJS.ErrnoException
    if (e.code === 'EACCES' || e.code === 'EROFS' || e.code === 'ENOTDIR' || e.code === 'SQLITE_CANTOPEN') {
      fail(`MQCHAT_DATA_DIR: cannot write to ${config.dataDir} (${e.code})`)
    }
    log.fatal({ err }, 'start-up failed')
    fail(`start-up failed: ${e.message}`)
  }
  if (signal !== null) stop(app)
}

void main()
