// The operator key (SPEC §1): MQCHAT_ADMIN_KEY, or one generated on first start, saved in the
// data dir (readable by this user only) and printed once.
import fs from 'node:fs'
import path from 'node:path'
import { newOperatorKey } from './chat/ids.ts'

export const OPERATOR_KEY_FILE = 'operator-key'

export function loadOperatorKey (dataDir: string, fromEnv: string | null): { key: string, generated: boolean, file: string } {
  const file = path.join(dataDir, OPERATOR_KEY_FILE)
  if (fromEnv !== null) return { key: fromEnv, generated: false, file }
  try {
    return { key: fs.readFileSync(file, 'utf8').trim(), generated: false, file }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  fs.mkdirSync(dataDir, { recursive: true })
  const key = newOperatorKey()
  // 'wx': never overwrite a key another process just wrote.
  fs.writeFileSync(file, key + '\n', { mode: 0o600, flag: 'wx' })
  return { key, generated: true, file }
}
