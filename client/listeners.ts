// The browser client's events (`chat.on`, `call.on`): listeners by event name, each called
// with the value; one that throws is reported (thrown on its own task) and the others still
// run.
export class Listeners<Events extends object> {
  private readonly byEvent = new Map<keyof Events, Set<(v: any) => void>>()

  /** Adds `fn`; answers the function that removes it. */
  on<K extends keyof Events> (event: K, fn: (v: Events[K]) => void): () => void {
    let set = this.byEvent.get(event)
    if (set === undefined) this.byEvent.set(event, set = new Set())
    set.add(fn)
    return () => set.delete(fn)
  }

  emit<K extends keyof Events> (event: K, v: Events[K]): void {
    for (const fn of this.byEvent.get(event) ?? []) {
      try { fn(v) } catch (err) { setTimeout(() => { throw err }) }
    }
  }
}
