// Unread counts per peer (SPEC §9: on the launcher, in `mqchat:unread` and in the contact list).
// Two sources overlap and race: the server's answer (a conversation's `unread`, as of its `last`
// message) and the messages that come live or by catch-up, before, during or after that answer.
// A message is counted once whatever the order: an id at or below the answer's last one is in its
// count already, and one above it is added to it, never wiped out by it. That rests on ids
// committing in id order within a domain (on PostgreSQL each write takes its domain's lock
// before its ids, migration 010; the embedded store writes one transaction at a time): an
// answer that shows a last id counts every message below it, none of them commits later.
// No I/O: tested with tables in test/client-logic.test.ts.

interface Count {
  /** the count of the server's answer applied last */
  n: number
  /** the last message id that answer covers (or that the user has read up to) */
  upTo: number
  /** ids counted live (or by catch-up) above upTo */
  ids: Set<number>
  /** the ticket of that answer, or of the read since: an answer asked for before it is older news */
  asked: number
}

export interface UnreadCounts {
  /** A ticket for an answer about to be asked for (answers may come back in any order). */
  ask: () => number
  /** The server's answer for one conversation, asked for with `ticket`. */
  answer: (ticket: number, peer: number, unread: number, lastId: number) => void
  /** A message from peer came (live or by catch-up), not on screen. */
  live: (peer: number, id: number) => void
  /** The user has seen peer's messages up to upTo: nothing of peer counts now. */
  read: (peer: number, upTo: number) => void
  of: (peer: number) => number
  total: () => number
}

export function unreadCounts (): UnreadCounts {
  const counts = new Map<number, Count>()
  let tickets = 0
  const get = (peer: number): Count => {
    let c = counts.get(peer)
    if (c === undefined) counts.set(peer, c = { n: 0, upTo: 0, ids: new Set(), asked: 0 })
    return c
  }
  const of = (peer: number): number => {
    const c = counts.get(peer)
    if (c === undefined) return 0
    let n = c.n
    for (const id of c.ids) if (id > c.upTo) n++
    return n
  }
  return {
    ask: () => ++tickets,
    answer: (ticket, peer, unread, lastId) => {
      const c = get(peer)
      // Asked for before another answer or a read, or older than a message it would cover: stale.
      if (ticket < c.asked || lastId < c.upTo) return
      c.asked = ticket
      c.n = unread
      c.upTo = lastId
      for (const id of c.ids) if (id <= lastId) c.ids.delete(id)
    },
    live: (peer, id) => { const c = get(peer); if (id > c.upTo) c.ids.add(id) },
    read: (peer, upTo) => {
      const c = get(peer)
      c.n = 0
      c.ids.clear()
      c.upTo = Math.max(c.upTo, upTo)
      c.asked = ++tickets
    },
    of,
    total: () => { let n = 0; for (const peer of counts.keys()) n += of(peer); return n }
  }
}
