// What every part of the store conformance suite shares: the factory a store hands it, a
// fresh store per test, and the rows most tests start from.
import type { MessageRow, NewMessage, Store } from '../../src/store/index.ts'

export interface StoreFactory {
  /** A fresh, empty, opened store. */
  open: () => Promise<Store>
  /** The same database again, after `close()` (to check what survives). */
  reopen: (s: Store) => Promise<Store>
  /** Another node on the same database, open at the same time (stores that have several nodes). */
  another?: (s: Store) => Promise<Store>
  /**
   * Deletes a domain's messages behind the store's back, as retention and user erasure will
   * (their store methods are built elsewhere): the files those messages carried are then
   * nobody's.
   */
  deleteMessages: (s: Store, domainId: string) => Promise<void>
}

export const eventFor = (r: MessageRow) => ({ webhookId: `msg_${r.id}_${Math.random()}`, body: JSON.stringify({ id: r.id, from: r.fromUserid }) })

export function msg (domainId: string, from: number, to: number, text: string, at = 1_700_000_000_000): NewMessage {
  return { domainId, fromUserid: from, toUserid: to, type: 0, message: text, p1: '', p2: '', p3: '', at }
}

export async function withDomain (s: Store, id = 'acme'): Promise<string> {
  await s.createDomain({ id, name: id.toUpperCase(), apiKeyHash: `hash-${id}`, tokenSecret: `secret-${id}`, createdAt: 1_700_000_000_000 })
  return id
}

/** A fresh, opened store for a test, closed after it. */
export const freshStore = (factory: StoreFactory) => async (t: { after: (fn: () => Promise<void>) => void }): Promise<Store> => {
  const s = await factory.open()
  t.after(() => s.close())
  return s
}
