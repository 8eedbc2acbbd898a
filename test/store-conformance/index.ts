// The conformance suite every Store must pass (as aedes-persistence's abstract.js): the
// SQLite store (store-sqlite.test.ts) and the PostgreSQL store (store-postgres.test.ts) run
// these same files, a part per family of the store. Tests that need two nodes on one
// database run where the store has them.
import { domainsConformance } from './domains.ts'
import { filesConformance } from './files.ts'
import type { StoreFactory } from './helpers.ts'
import { lifecycleConformance } from './lifecycle.ts'
import { messagesConformance } from './messages.ts'
import { outboxNodesConformance } from './outbox-nodes.ts'
import { outboxConformance } from './outbox.ts'
import { peopleConformance } from './people.ts'
import { presenceConformance } from './presence.ts'
import { pushConformance } from './push.ts'

export type { StoreFactory }

export function storeConformance (name: string, factory: StoreFactory): void {
  domainsConformance(name, factory)
  peopleConformance(name, factory)
  presenceConformance(name, factory)
  messagesConformance(name, factory)
  lifecycleConformance(name, factory)
  outboxConformance(name, factory)
  outboxNodesConformance(name, factory)
  filesConformance(name, factory)
  pushConformance(name, factory)
}
