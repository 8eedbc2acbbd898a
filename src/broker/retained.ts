// Retained presence comes from the store, not from the broker's memory: the `presence`
// table already holds every user's last status, durably, so the retained state survives a
// restart, is shared by every node on one database, and costs no memory per user.
// Users cannot publish retained messages anywhere else (the ACL allows no such topic).
import { Readable } from 'node:stream'
import memory from 'aedes-persistence'
import { presenceEvent } from '../chat/events.ts'
import type { Store } from '../store/index.ts'
import { presenceFilter, presenceTopic } from './topics.ts'

export function persistenceWithPresence (store: Pick<Store, 'getPresence' | 'listPresent'>) {
  // aedes-persistence is CommonJS: its default export is the factory.
  const p = (memory as unknown as () => { storeRetained: unknown, createRetainedStreamCombi: unknown })()
  p.storeRetained = async () => {}
  p.createRetainedStreamCombi = (patterns: string[]) => Readable.from(retainedPresence(store, patterns))
  return p
}

async function * retainedPresence (store: Pick<Store, 'getPresence' | 'listPresent'>, patterns: string[]) {
  for (const pattern of patterns) {
    const f = presenceFilter(pattern)
    if (f === null) continue
    // SPEC §3: the wildcard gives only the users who are not offline (a domain's past users
    // would otherwise all come back to every widget that loads); one user's topic gives its
    // status, `offline` included.
    const rows = f.userid === null
      ? await store.listPresent(f.domainId)
      : [await store.getPresence(f.domainId, f.userid)].filter((r) => r !== null)
    for (const r of rows) {
      yield {
        cmd: 'publish',
        topic: presenceTopic(f.domainId, r.userid),
        payload: Buffer.from(JSON.stringify(presenceEvent(r.userid, r.status, r.changedAt))),
        qos: 1,
        retain: true
      }
    }
  }
}
