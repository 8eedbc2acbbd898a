// One user's writes, one after another: each starts when the one before it has settled. A
// user's events must reach its callbacks in the order they happened (SPEC §4.4), and a write
// may first wait for look-ups (a block, an attachment) or go through a connection of its own
// (presence on PostgreSQL) that answer out of order, so chat keeps that order itself: a
// presence change settles when committed, a message when handed to the store's writer
// (which commits one node's writes in call order). Different users' writes run together.
export class KeyedSerial {
  private readonly tails = new Map<string, Promise<unknown>>()

  /** Runs `fn` once every earlier call with the same key has settled. */
  run<T> (key: string, fn: () => Promise<T>): Promise<T> {
    const before = this.tails.get(key)
    const p = before === undefined ? fn() : before.then(fn, fn)
    const tail = p.catch(() => {})
    this.tails.set(key, tail)
    void tail.then(() => { if (this.tails.get(key) === tail) this.tails.delete(key) })
    return p
  }

  /** Keys with writes under way (for tests and metrics). */
  get size (): number {
    return this.tails.size
  }
}
