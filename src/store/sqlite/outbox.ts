// The outbox on SQLite: callbacks, queues, claims, completions (and their chains), replay,
// logs and their retention; the statements it runs are outbox-statements.ts.
import type Database from 'better-sqlite3'
import { CALLBACK_PATCH_COLUMNS } from '../rows.ts'
import { claimedEvent, type ClaimRow } from '../claimed.ts'
import { REPLAY_BATCH, REPLAY_PAUSE_MS } from '../outbox-rules.ts'
import { prepare } from './outbox-statements.ts'
import type {
  CallbackPatch, CallbackRow, ClaimedEvent, Completed, Completion, EventKind, LogRow, NewLog
} from '../types.ts'

interface DbCallback {
  domain_id: string
  kind: EventKind
  url: string | null
  enabled: number
  disabled_reason: string | null
  disabled_at: number | null
  signing_secret: string
  previous_secret: string | null
  previous_secret_until: number | null
  last_success_at: number | null
  last_failure_at: number | null
}

const toCallback = (r: DbCallback): CallbackRow => ({
  domainId: r.domain_id,
  kind: r.kind,
  url: r.url,
  enabled: r.enabled === 1,
  disabledReason: r.disabled_reason,
  disabledAt: r.disabled_at,
  signingSecret: r.signing_secret,
  previousSecret: r.previous_secret,
  previousSecretUntil: r.previous_secret_until,
  lastSuccessAt: r.last_success_at,
  lastFailureAt: r.last_failure_at
})


export class OutboxSql {
  private readonly q: ReturnType<typeof prepare>

  constructor (private readonly db: Database.Database) {
    this.q = prepare(db)
  }

  /** Whether each domain's callbacks are on, read once per group commit batch (newBatch). */
  private callbackOn = new Map<string, boolean>()

  /** A group commit batch starts: nothing read before it is trusted in it. */
  newBatch (): void {
    this.callbackOn.clear()
  }

  /**
   * Called inside the transaction that writes an event: its state, and its user's queue.
   * Outside a group commit batch (which calls newBatch first), call newBatch before.
   */
  writeEvent (domainId: string, kind: EventKind, userid: number, webhookId: string, body: string, at: number): void {
    const key = `${kind}\u0000${domainId}`
    let pending = this.callbackOn.get(key)
    if (pending === undefined) {
      pending = this.q.callbackOn.get(domainId, kind) !== undefined
      this.callbackOn.set(key, pending)
    }
    const info = this.q.insertEvent.run(domainId, kind, userid, webhookId, body, at, pending ? 'pending' : 'held')
    if (pending) this.q.openQueue.run(domainId, kind, userid, info.lastInsertRowid, at)
  }

  getCallback (domainId: string, kind: EventKind, newSecret: () => string): CallbackRow {
    let row = this.q.getCallback.get(domainId, kind) as DbCallback | undefined
    if (row === undefined) {
      this.q.insertCallback.run(domainId, kind, newSecret())
      row = this.q.getCallback.get(domainId, kind) as DbCallback
    }
    return toCallback(row)
  }

  updateCallback (domainId: string, kind: EventKind, patch: CallbackPatch, newSecret: () => string): CallbackRow {
    return this.db.transaction(() => {
      this.getCallback(domainId, kind, newSecret)
      const sets: string[] = []
      const values: unknown[] = []
      for (const [key, col] of Object.entries(CALLBACK_PATCH_COLUMNS) as Array<[keyof CallbackPatch, string]>) {
        if (patch[key] === undefined) continue
        sets.push(`${col} = ?`)
        values.push(typeof patch[key] === 'boolean' ? (patch[key] ? 1 : 0) : patch[key])
      }
      if (sets.length > 0) this.db.prepare(`UPDATE callbacks SET ${sets.join(', ')} WHERE domain_id = ? AND kind = ?`).run(...values, domainId, kind)
      return toCallback(this.q.getCallback.get(domainId, kind) as DbCallback)
    })()
  }

  /**
   * A callback that is off sends nothing: its pending events are held and its idle queues
   * closed, one batch at a time (answers how many it held; fewer than `batch`: done). Each
   * batch re-checks that the callback is still off, so one switched on again meanwhile keeps
   * its events. A queue whose head is being sent stays until that attempt ends (its holder
   * then closes it), so a quick off-and-on cannot put two of one user's events in flight.
   */
  holdPendingBatch (domainId: string, kind: EventKind, batch: number): number {
    return this.db.transaction(() => {
      const n = this.q.holdEvents.run(domainId, kind, batch, domainId, kind).changes
      if (n < batch) this.q.dropIdleQueues.run(domainId, kind, domainId, kind)
      return n
    })()
  }

  /** Callbacks that are off but still have pending events (a switch-off cut short by a crash). */
  offWithPending (): Array<{ domainId: string, kind: EventKind }> {
    return this.q.offWithPending.all() as Array<{ domainId: string, kind: EventKind }>
  }

  countPending (domainId: string, kind: EventKind): number {
    return (this.q.countPending.get(domainId, kind) as { n: number }).n
  }

  countPendingByKind (): Record<EventKind, number> {
    const out: Record<EventKind, number> = { presence: 0, messages: 0 }
    for (const r of this.q.countPendingByKind.all() as Array<{ kind: EventKind, n: number }>) out[r.kind] = r.n
    return out
  }

  readyDomains (now: number): string[] {
    return (this.q.readyDomains.all(now, now) as Array<{ domain_id: string }>).map((r) => r.domain_id)
  }

  claim (domainId: string, nodeId: string, now: number, leaseUntil: number, limit: number): ClaimedEvent[] {
    // Nothing ready (the usual answer to a wake for a domain without callbacks): no
    // transaction. Whatever becomes ready later wakes the dispatcher again.
    if (this.q.anyReady.get({ domainId, now }) === undefined) return []
    // A lease needs no fsync of its own: after a crash every lease is freed at start-up
    // (recover). The next durable commit syncs these pages with it. (Measured: the claim's
    // own commit was an eighth of the dispatcher's time.)
    this.db.pragma('synchronous = NORMAL')
    try {
      return this.claimTx(domainId, nodeId, now, leaseUntil, limit)
    } finally {
      this.db.pragma('synchronous = FULL')
    }
  }

  private claimTx (domainId: string, nodeId: string, now: number, leaseUntil: number, limit: number): ClaimedEvent[] {
    return this.db.transaction(() => {
      const rows = this.q.claimable.all({ domainId, now, limit }) as ClaimRow[]
      return rows.map((r) => {
        this.q.lease.run({ node: nodeId, until: leaseUntil, domainId: r.domain_id, kind: r.kind, userid: r.userid })
        return claimedEvent(r, now)
      })
    }).immediate()
  }

  /**
   * Runs inside a group-commit batch. The attempt is logged in any case; its consequences
   * only if `c.nodeId` still holds the queue's lease on this event (answers whether it did).
   */
  complete (c: Completion): Completed {
    // it may switch a callback off, for the rest of its batch too
    if (c.outcome === 'disable') this.callbackOn.clear()
    this.insertLog(c.log)
    const mine = [c.domainId, c.kind, c.userid, c.nodeId] as const
    if (this.q.holds.get(...mine, c.eventId) === undefined) return { held: false, next: null }
    let next: ClaimedEvent | null = null
    switch (c.outcome) {
      case 'delivered':
        this.q.markDone.run({ state: 'delivered', at: c.at, id: c.eventId })
        this.q.calledOk.run({ at: c.at, domainId: c.domainId, kind: c.kind })
        next = this.advance(c)
        break
      case 'failed':
        this.q.markDone.run({ state: 'failed', at: null, id: c.eventId })
        this.q.calledFailed.run({ at: c.at, domainId: c.domainId, kind: c.kind })
        next = this.advance(c)
        break
      case 'retry': {
        this.q.countAttempt.run(c.eventId)
        this.q.calledFailed.run({ at: c.at, domainId: c.domainId, kind: c.kind })
        // The queue waits out the back-off at the user's oldest pending event: this one, or
        // an older one a replay made pending meanwhile (so the replay still goes in order).
        // Held meanwhile (the callback was switched off): it moves on, or closes.
        const head = this.q.nextPending.get(c.domainId, c.kind, c.userid) as { id: number } | undefined
        if (head === undefined) this.q.closeQueue.run(...mine)
        else this.q.moveQueue.run(head.id, c.nextAttemptAt!, ...mine)
        break
      }
      case 'disable':
        this.q.markDone.run({ state: 'failed', at: null, id: c.eventId })
        // Only if the callback still points where this attempt went: a customer who has
        // meanwhile set a new URL is not switched off for the old one's failure.
        // The first batch of its pending events is held with the switch-off itself, so the
        // state a reader sees is whole; the caller holds any more in batches.
        if (this.q.disable.run(c.disabledReason!, c.at, c.at, c.domainId, c.kind, c.log.url).changes === 1) {
          this.q.closeQueue.run(...mine)
          this.holdPendingBatch(c.domainId, c.kind, REPLAY_BATCH)
        } else {
          this.q.calledFailed.run({ at: c.at, domainId: c.domainId, kind: c.kind })
          this.advance({ ...c, chainUntil: undefined })
        }
        break
    }
    return { held: true, next }
  }

  /**
   * The queue moves on to the user's next pending event, or closes. Only its lease holder.
   * Asked to chain (and the callback may send now: on, not paused by a replay), it stays
   * leased to the same node with the next event at its head, which is answered.
   */
  private advance (c: Completion): ClaimedEvent | null {
    const next = this.q.nextPending.get(c.domainId, c.kind, c.userid) as { id: number } | undefined
    if (next === undefined) {
      this.q.closeQueue.run(c.domainId, c.kind, c.userid, c.nodeId)
      return null
    }
    if (c.chainUntil !== undefined) {
      const row = this.q.chainable.get({ id: next.id, domainId: c.domainId, kind: c.kind, at: c.at }) as ClaimRow | undefined
      if (row !== undefined) {
        this.q.keepQueue.run(next.id, c.chainUntil, c.chainUntil, c.domainId, c.kind, c.userid, c.nodeId)
        return claimedEvent(row, c.at)
      }
    }
    this.q.moveQueue.run(next.id, c.at, c.domainId, c.kind, c.userid, c.nodeId)
    return null
  }

  insertLog (l: NewLog): void {
    this.q.insertLog.run(l.domainId, l.kind, l.eventId, l.webhookId, l.at, l.url, JSON.stringify(l.requestHeaders), l.requestBody,
      l.responseStatus, l.responseBody, l.durationMs, l.error, l.attempt, l.result)
  }

  /**
   * The embedded database has one node, this one: every lease another node id holds is
   * from a process that is gone. Queues are only an index of the pending events: any
   * pending event's user without one gets one.
   */
  recover (nodeId: string, now: number, rebuild: boolean): number {
    return this.db.transaction(() => {
      const freed = this.q.freeLeases.run(now, nodeId).changes
      return freed + (rebuild ? this.q.rebuildQueues.run(now).changes : 0)
    })()
  }

  releaseLeases (nodeId: string, keepEventIds: number[], now: number): number {
    return this.q.releaseMine.run(now, nodeId, JSON.stringify(keepEventIds)).changes
  }

  nextDueAt (): number | null {
    return (this.q.nextDue.get() as { at: number | null }).at
  }

  /**
   * One step of a replay. The first (fromId 0) pauses the callback's claims; each marks the
   * next REPLAY_BATCH events since `sinceMs` pending again and answers the last id it
   * reached (null: none left). Then `finishReplay` reopens the queues and lifts the pause.
   */
  /**
   * A replay begins: the callback's claims pause, and an event in flight since then is marked
   * to be pending again when its attempt ends (were it marked only at the end, an attempt
   * ending between the batches would finish it for good). Answers the id the batches start
   * after (null: nothing to replay).
   */
  replayStart (domainId: string, kind: EventKind, sinceMs: number, now: number): number | null {
    return this.db.transaction(() => {
      this.q.pause.run(now + REPLAY_PAUSE_MS, domainId, kind)
      this.q.requeueInFlight.run({ domainId, kind, since: sinceMs })
      const r = this.q.replayStart.get(domainId, kind, sinceMs) as { id: number | null }
      return r.id === null ? null : r.id - 1
    })()
  }

  replayBatch (domainId: string, kind: EventKind, sinceMs: number, fromId: number, now: number): number | null {
    return this.db.transaction(() => {
      this.q.pause.run(now + REPLAY_PAUSE_MS, domainId, kind)
      const last = this.q.replayEdge.get(domainId, kind, sinceMs, fromId, REPLAY_BATCH - 1) as { id: number } | undefined
      const upTo = last?.id ?? Number.MAX_SAFE_INTEGER
      this.q.requeue.run(domainId, kind, sinceMs, fromId, upTo)
      return last === undefined ? null : last.id
    })()
  }

  finishReplay (domainId: string, kind: EventKind, sinceMs: number, now: number): number {
    return this.db.transaction(() => {
      this.q.requeueInFlight.run({ domainId, kind, since: sinceMs })
      this.q.reopenQueues.run(now, domainId, kind)
      this.q.pause.run(null, domainId, kind)
      return (this.q.countSince.get(domainId, kind, sinceMs) as { n: number }).n
    })()
  }

  listLogs (domainId: string, kind: EventKind, q: { limit: number, result?: 'ok' | 'failed', before?: number }): LogRow[] {
    const rows = (q.result === undefined
      ? this.q.listLogs.all(domainId, kind, q.before ?? Number.MAX_SAFE_INTEGER, q.limit)
      : this.q.listLogsByResult.all(domainId, kind, q.result, q.before ?? Number.MAX_SAFE_INTEGER, q.limit)) as Array<LogRow & { requestHeaders: string }>
    return rows.map((r) => ({ ...r, requestHeaders: JSON.parse(r.requestHeaders) }))
  }

  pruneLogs (keep: number, olderThanMs: number): number {
    let removed = 0
    // Per callback: one index seek finds its `keep`-th newest log; nothing scans the table.
    for (const cb of this.q.allCallbacks.all() as Array<{ domain_id: string, kind: string }>) {
      const cut = this.q.keptLogFrom.get(cb.domain_id, cb.kind, keep) as { id: number } | undefined
      if (cut !== undefined) removed += this.q.pruneLogs.run(cb.domain_id, cb.kind, olderThanMs, cut.id).changes
    }
    return removed
  }

  pruneEvents (olderThanMs: number, batch: number): number {
    return this.q.pruneEvents.run(olderThanMs, batch).changes
  }
}
