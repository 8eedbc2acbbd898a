// Retained presence and live presence meet on a new subscription (issue 20). aedes registers
// a SUBSCRIBE's filters first and reads the retained messages after (retained.ts reads the
// store), so a change that committed before that read but is published after the filters
// are in place reaches the subscriber twice: once retained, once live (in either order). A
// user that subscribes to the wildcard right after connecting got its own `online` twice,
// on both stores: its own online is committed and published just then.
//
// For a while after each presence SUBSCRIBE, the connection remembers the last presence it
// was given on each topic, and:
// - a live change equal to the last one given on its topic is the same change again (a real
//   change always changes the status): dropped;
// - a retained one is dropped when it is the one given last on its topic (two filters that
//   both match), or when a live one was given on its topic since the SUBSCRIBE: that one is
//   at least as new (a change newer still is published after it).
// A topic whose presence was held back from the connection (SPEC §10.3, not a friend) is
// forgotten: what comes next on it (a new friend's presence, retained) is news.
// Past the window nothing is remembered: a change's publish follows its commit within
// milliseconds (a few more through the bus between nodes), and a wildcard subscriber's map
// holds every present user of its domain, so it is not kept for the connection's life.
// Pure: tested with a table in test/units.test.ts.

/** How long after a presence SUBSCRIBE its retained and live presence are compared. */
export const PRESENCE_WINDOW_MS = 5_000

export class PresenceWindow {
  private readonly last = new Map<string, { body: string, live: boolean }>()
  private until = 0

  constructor (private readonly now: () => number = Date.now) {}

  /** A presence SUBSCRIBE: the window lasts PRESENCE_WINDOW_MS from now. */
  renew (): void {
    this.until = this.now() + PRESENCE_WINDOW_MS
  }

  /** Past the window: the connection can forget it. */
  over (): boolean {
    return this.now() >= this.until
  }

  /** Whether to hand this presence packet to the connection (and remember it if so). */
  forward (topic: string, body: string, retained: boolean): boolean {
    const before = this.last.get(topic)
    if (before !== undefined && (before.body === body || (retained && before.live))) return false
    this.last.set(topic, { body, live: !retained })
    return true
  }

  /** Presence on `topic` was held back from the connection: what it was given there is stale. */
  forget (topic: string): void {
    this.last.delete(topic)
  }
}
