// The store's public surface: its types, and the factory that picks the database from the
// settings (MQCHAT_DATABASE_URL: PostgreSQL; unset: the embedded SQLite).
import type { Config } from '../config.ts'
import type { Logger } from '../log.ts'
import { PostgresStore } from './postgres/index.ts'
import { SqliteStore } from './sqlite/index.ts'
import type { Store } from './types.ts'

export * from './types.ts'
export { activeSecrets } from './secrets.ts'

/**
 * `onReaped`: this node finds it was taken for gone (paused past its liveness limit, on a
 * database several nodes share): the others have sent its users offline.
 */
export function createStore (config: Pick<Config, 'dataDir' | 'databaseUrl' | 'databasePoolSize' | 'nodeTtlMs'>, nodeId: string, log: Logger, onReaped: () => void = () => {}): Store {
  const storeLog = log.child({ module: 'store' })
  return config.databaseUrl === null
    ? new SqliteStore(config.dataDir, nodeId, storeLog)
    : new PostgresStore(config.databaseUrl, config.databasePoolSize, nodeId, storeLog, config.nodeTtlMs, onReaped)
}
