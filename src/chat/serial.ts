// One user's writes, one after another: each starts when the one before it has committed.
// The store promises no order between concurrent calls (several nodes, several connections
// to the database), and a user's events must reach its callbacks in the order they happened
// (SPEC §4.4), so chat keeps that order itself. Different users' writes still run together.
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
