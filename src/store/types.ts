// The one storage interface and its row types. Nothing outside store/ knows which database is
// behind it; the conformance suite (test/store-conformance/) is what every implementation
// must pass. Implementations import their types from here, never from the factory.
// Each family (its rows and its part of the interface) is a file of types/; `Store` is all of them.
import type { DomainStore } from './types/domains.ts'
import type { FileStore } from './types/files.ts'
import type { StoreLifecycle } from './types/lifecycle.ts'
import type { MessageStore } from './types/messages.ts'
import type { OutboxStore } from './types/outbox.ts'
import type { PeopleStore } from './types/people.ts'
import type { PresenceStore } from './types/presence.ts'
import type { PushStore } from './types/push.ts'

export type * from './types/domains.ts'
export type * from './types/files.ts'
export type * from './types/lifecycle.ts'
export type * from './types/messages.ts'
export type * from './types/outbox.ts'
export type * from './types/people.ts'
export type * from './types/presence.ts'
export type * from './types/push.ts'

export interface Store extends StoreLifecycle, DomainStore, PresenceStore, PeopleStore, MessageStore, FileStore, OutboxStore, PushStore {}
