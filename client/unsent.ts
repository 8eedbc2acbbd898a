// The user's sends not yet stored (SPEC §9: offline sends): written while offline or in flight
// when the connection went, each goes out by its cid once connected, and is never sent twice
// once the server has stored it. A send published on a connection lost before its ack is of
// unknown fate until a catch-up finds it stored (by its content: message events carry no
// cid) or not. The ones never published survive a reload of the tab (sessionStorage).
import type { MessageEvent } from '../protocol/wire.ts'
import { matchPending } from './logic.ts'

export interface Pending {
  cid: string
  body: { to_userid: number, message: string, type: number, p1: string, p2: string, p3: string }
  /** published on the current connection, so a lost connection leaves its fate unknown */
  published: boolean
  resolve: (e: MessageEvent) => void
  reject: (e: Error) => void
}

export class Unsent {
  private readonly list: Pending[] = []
  /** cids published on a connection that was lost before their ack: stored or not, unknown */
  private readonly unknownFate = new Set<string>()

  constructor (private readonly storageKey: string) {}

  /** What an earlier page of this tab left unsent: it goes out with the rest; `stored` hears it once stored. */
  restore (stored: (e: MessageEvent) => void): void {
    let kept: Array<{ cid: string, body: Pending['body'] }> = []
    try { kept = JSON.parse(sessionStorage.getItem(this.storageKey) ?? '[]') } catch {}
    for (const k of Array.isArray(kept) ? kept : []) {
      if (typeof k?.cid !== 'string' || typeof k.body?.message !== 'string' || typeof k.body.to_userid !== 'number') continue
      this.list.push({ cid: k.cid, body: k.body, published: false, resolve: stored, reject: () => {} })
    }
  }

  add (p: Pending): void {
    this.list.push(p)
    this.persist()
  }

  /** Not published on the current connection, oldest first: what a flush sends. */
  waiting (): Pending[] {
    return this.list.filter((p) => !p.published)
  }

  /** Published: its fate is unknown until its ack (or a catch-up) says. */
  publishing (p: Pending): void {
    p.published = true
    this.unknownFate.add(p.cid)
    this.persist()
  }

  /** The connection went: nothing is published on a connection any more. */
  connectionLost (): void {
    for (const p of this.list) p.published = false
  }

  /** Lost with its connection or its ack late: to be settled by a catch-up, then sent again if not stored. */
  unanswered (p: Pending): void {
    p.published = false
  }

  /** The server said it did not store it (its database out of reach): sent again once connected. */
  notStored (p: Pending): void {
    p.published = false
    this.unknownFate.delete(p.cid)
    this.persist()
  }

  /** Settled (stored, or refused for good): no longer kept. */
  take (p: Pending): void {
    this.unknownFate.delete(p.cid)
    const i = this.list.indexOf(p)
    if (i >= 0) this.list.splice(i, 1)
    this.persist()
  }

  byCid (cid: unknown): Pending | undefined {
    return this.list.find((p) => p.cid === cid)
  }

  /** The send of unknown fate that a stored message of this user is, if any (the first with its recipient and content). */
  matching (m: MessageEvent): Pending | undefined {
    const unsure = this.list.filter((p) => !p.published && this.unknownFate.has(p.cid))
    return unsure[matchPending(unsure.map((u) => u.body), m)]
  }

  all (): readonly Pending[] {
    return this.list
  }

  /** Every one is answered with `err` (the chat was closed): nothing more is sent. */
  rejectAll (err: Error): void {
    for (const p of this.list.splice(0)) p.reject(err)
    this.unknownFate.clear()
    this.persist()
  }

  /**
   * The sends never published are kept in the tab's sessionStorage, so that a reload while
   * offline does not lose them; a send that went out is not kept (it may be stored already,
   * and only the catch-up of this page could tell).
   */
  private persist (): void {
    try {
      const keep = this.list.filter((p) => !p.published && !this.unknownFate.has(p.cid)).map((p) => ({ cid: p.cid, body: p.body }))
      if (keep.length === 0) sessionStorage.removeItem(this.storageKey)
      else sessionStorage.setItem(this.storageKey, JSON.stringify(keep))
    } catch {}
  }
}
