// The store conformance suite, the outbox on one node: callbacks, claims and leases,
// completions and their chains, replay, recovery, logs. (Several nodes: outbox-nodes.ts.)
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { ClaimedEvent, Completion, EventKind, Store } from '../../src/store/index.ts'
import { withDomain, freshStore, type StoreFactory } from './helpers.ts'

export const secret = () => `whsec_${Math.random()}`

export const presence = (s: Store, d: string, userid: number, n: number, at = 1000 + n) =>
  s.changePresence({ domainId: d, userid, status: n % 2 === 0 ? 'online' : 'away', at, event: { webhookId: `w-${userid}-${n}`, body: `{"u":${userid},"n":${n}}` } })

export const on = (s: Store, d: string, kind: EventKind = 'presence') => s.updateCallback(d, kind, { url: 'http://127.0.0.1:9/hook', enabled: true }, secret)

export const done = (ev: ClaimedEvent, nodeId: string, outcome: Completion['outcome'], extra: Partial<Completion> = {}): Completion => ({
  eventId: ev.id, nodeId, domainId: ev.domainId, kind: ev.kind, userid: ev.userid, at: 5000, outcome,
  log: { domainId: ev.domainId, kind: ev.kind, eventId: ev.id, webhookId: ev.webhookId, at: 5000, url: ev.url, requestHeaders: { a: 'b' }, requestBody: ev.body, responseStatus: 200, responseBody: 'ok', durationMs: 3, error: null, attempt: ev.attempts + 1, result: outcome === 'delivered' ? 'ok' : 'failed' },
  ...extra
})

export function outboxConformance (name: string, factory: StoreFactory): void {
  const fresh = freshStore(factory)

  test(`${name}: a callback is off by default; events written while off are held, while on pending`, async (t) => {
    const s = await fresh(t)
    const d = await withDomain(s)
    const cb = await s.getCallback(d, 'presence', secret)
    assert.deepEqual({ ...cb, signingSecret: '' }, { domainId: d, kind: 'presence', url: null, enabled: false, disabledReason: null, disabledAt: null, signingSecret: '', previousSecret: null, previousSecretUntil: null, lastSuccessAt: null, lastFailureAt: null })
    assert.equal((await s.getCallback(d, 'presence', secret)).signingSecret, cb.signingSecret, 'created once')
    await presence(s, d, 1, 0)
    await on(s, d)
    await presence(s, d, 1, 1)
    assert.deepEqual((await s.listEvents(d, 'presence', 0, 10)).map((e) => e.state), ['held', 'pending'])
    assert.equal(await s.countPending(d, 'presence'), 1)
    assert.deepEqual(await s.countPendingByKind(), { presence: 1, messages: 0 })
    // switched off: pending events are held, nothing is claimable
    await s.updateCallback(d, 'presence', { enabled: false }, secret)
    assert.equal(await s.countPending(d, 'presence'), 0)
    assert.deepEqual(await s.claimEvents(d, 'n1', 10_000, 20_000, 10), [])
  })

  test(`${name}: claims give one head per user, oldest first, leased until released`, async (t) => {
    const s = await fresh(t)
    const d = await withDomain(s)
    await on(s, d)
    for (let n = 0; n < 3; n++) for (const u of [1, 2]) await presence(s, d, u, n)
    assert.deepEqual(await s.readyDomains(10_000), [d])
    const first = await s.claimEvents(d, 'n1', 10_000, 20_000, 10)
    assert.deepEqual(first.map((e) => e.webhookId), ['w-1-0', 'w-2-0'])
    assert.deepEqual(first[0]!.secrets, [(await s.getCallback(d, 'presence', secret)).signingSecret])
    assert.equal(first[0]!.url, 'http://127.0.0.1:9/hook')
    assert.deepEqual(await s.claimEvents(d, 'n2', 10_000, 20_000, 10), [], 'leased')
    assert.deepEqual(await s.readyDomains(10_000), [])
    // a lease that ran out (its holder died) can be taken by another node
    const taken = await s.claimEvents(d, 'n2', 20_001, 30_000, 10)
    assert.deepEqual(taken.map((e) => e.webhookId), ['w-1-0', 'w-2-0'])
    // only the lease holder completes: n1's word no longer counts
    await s.complete(done(first[0]!, 'n1', 'delivered'))
    assert.deepEqual(await s.claimEvents(d, 'n2', 20_002, 30_000, 10), [], 'the queue did not move for n1')
    await s.complete(done(taken[0]!, 'n2', 'delivered'))
    const next = await s.claimEvents(d, 'n2', 20_003, 30_000, 10)
    assert.deepEqual(next.map((e) => e.webhookId), ['w-1-1'])
  })

  test(`${name}: completions move a user's queue on, retry it later, or switch the callback off`, async (t) => {
    const s = await fresh(t)
    const d = await withDomain(s)
    await on(s, d)
    for (let n = 0; n < 3; n++) await presence(s, d, 1, n)
    await presence(s, d, 2, 0)
    let [a, b] = await s.claimEvents(d, 'n', 10_000, 99_000, 10)
    await s.complete(done(a!, 'n', 'failed'))
    await s.complete(done(b!, 'n', 'retry', { nextAttemptAt: 50_000 }))
    ;[a] = await s.claimEvents(d, 'n', 10_000, 99_000, 10)
    assert.equal(a!.webhookId, 'w-1-1', 'a failed event is passed; the retried one waits')
    assert.equal(await s.nextDueAt(), 50_000)
    const later = await s.claimEvents(d, 'n', 50_000, 99_000, 10)
    assert.deepEqual(later.map((e) => [e.webhookId, e.attempts]), [['w-2-0', 1]])
    await s.complete(done(a!, 'n', 'disable', { disabledReason: 'the receiver answered 410' }))
    const cb = await s.getCallback(d, 'presence', secret)
    assert.equal(cb.enabled, false)
    assert.equal(cb.disabledReason, 'the receiver answered 410')
    assert.equal(cb.disabledAt, 5000)
    assert.equal(cb.lastFailureAt, 5000)
    // the one in flight elsewhere still records its success
    await s.complete(done(later[0]!, 'n', 'delivered'))
    const states = (await s.listEvents(d, 'presence', 0, 10)).map((e) => `${e.webhookId}:${e.state}`)
    assert.deepEqual(states, ['w-1-0:failed', 'w-1-1:failed', 'w-1-2:held', 'w-2-0:delivered'])
    assert.equal((await s.getCallback(d, 'presence', secret)).lastSuccessAt, 5000)
    const logs = await s.listLogs(d, 'presence', { limit: 10 })
    assert.equal(logs.length, 4)
    assert.deepEqual(logs[0]!.requestHeaders, { a: 'b' })
    assert.deepEqual((await s.listLogs(d, 'presence', { limit: 10, result: 'ok' })).map((l) => l.webhookId), ['w-2-0'])
    assert.deepEqual((await s.listLogs(d, 'presence', { limit: 1, before: logs[1]!.id })).map((l) => l.id), [logs[2]!.id])
  })

  test(`${name}: replay sends again, from the oldest, everything since a time`, async (t) => {
    const s = await fresh(t)
    const d = await withDomain(s)
    for (let n = 0; n < 4; n++) await presence(s, d, 1, n, 1000 * (n + 1))
    await on(s, d)
    assert.equal(await s.replay(d, 'presence', 2000, 10_000), 3)
    const order: string[] = []
    for (;;) {
      const [ev] = await s.claimEvents(d, 'n', 10_000, 99_000, 10)
      if (ev === undefined) break
      order.push(ev.webhookId)
      await s.complete(done(ev, 'n', 'delivered'))
    }
    assert.deepEqual(order, ['w-1-1', 'w-1-2', 'w-1-3'])
    assert.deepEqual((await s.listEvents(d, 'presence', 0, 10)).map((e) => e.state), ['held', 'delivered', 'delivered', 'delivered'])
  })

  test(`${name}: after a crash, leases are freed and every pending event has a queue`, async (t) => {
    const s = await fresh(t)
    const d = await withDomain(s)
    await on(s, d)
    await presence(s, d, 1, 0)
    await s.claimEvents(d, 'dead-node', 10_000, 10_000_000, 10)
    assert.deepEqual(await s.claimEvents(d, 'n', 10_001, 99_000, 10), [])
    await s.recoverOutbox(10_002)
    assert.deepEqual((await s.claimEvents(d, 'n', 10_003, 99_000, 10)).map((e) => e.webhookId), ['w-1-0'])
  })

  test(`${name}: retention keeps 1,000 logs or 7 days, whichever is more, and every pending event`, async (t) => {
    const s = await fresh(t)
    const d = await withDomain(s)
    await on(s, d)
    await presence(s, d, 1, 0, 100)
    await presence(s, d, 2, 0, 100)
    const [ev] = await s.claimEvents(d, 'n', 10_000, 99_000, 1)
    await s.complete(done(ev!, 'n', 'delivered'))
    for (let i = 0; i < 12; i++) await s.complete(done(ev!, 'x', 'retry', { nextAttemptAt: 1, log: { ...done(ev!, 'x', 'retry').log, at: i < 6 ? 10 : 9_000 } }))
    assert.equal(await s.pruneLogs(4, 1000), 6, 'old ones beyond the newest 4 go')
    assert.equal((await s.listLogs(d, 'presence', { limit: 100 })).length, 7)
    assert.equal(await s.pruneLogs(100, 1_000_000), 0, 'fewer than the number kept: nothing goes')
    assert.equal(await s.pruneEvents(200), 1, 'the delivered one goes, the pending one stays')
    assert.deepEqual((await s.listEvents(d, 'presence', 0, 10)).map((e) => e.webhookId), ['w-2-0'])
  })

  test(`${name}: a queue left on a held event (switched off mid-attempt, holder gone) does not stop the user's new events`, async (t) => {
    const s = await fresh(t)
    const d = await withDomain(s)
    await on(s, d)
    await presence(s, d, 1, 0, 1000)
    await s.claimEvents(d, 'dead', 1000, 20_000, 10)
    await s.updateCallback(d, 'presence', { enabled: false }, secret)
    await on(s, d)
    // the lease has run out: the new event takes the queue over
    await presence(s, d, 1, 1, 30_000)
    assert.deepEqual((await s.claimEvents(d, 'n', 30_000, 99_000, 10)).map((e) => e.webhookId), ['w-1-1'])
    // and after a crash, queues are rebuilt from the pending events alone
    await presence(s, d, 2, 0, 30_001)
    await s.claimEvents(d, 'dead2', 30_001, 10_000_000, 10)
    await s.updateCallback(d, 'presence', { enabled: false }, secret)
    await s.recoverOutbox(40_000)
    await on(s, d)
    await presence(s, d, 2, 1, 40_001)
    assert.deepEqual((await s.claimEvents(d, 'n2', 40_002, 99_000, 10)).map((e) => e.webhookId), ['w-2-1'])
  })

  test(`${name}: a replay asked for while an event is being retried still goes out oldest first`, async (t) => {
    const s = await fresh(t)
    const d = await withDomain(s)
    await on(s, d)
    for (let n = 0; n < 4; n++) await presence(s, d, 1, n, 1000 * (n + 1))
    for (let n = 0; n < 3; n++) {
      const [ev] = await s.claimEvents(d, 'n', 10_000, 99_000, 1)
      await s.complete(done(ev!, 'n', 'delivered'))
    }
    const [fourth] = await s.claimEvents(d, 'n', 10_000, 99_000, 1)
    assert.equal(fourth!.webhookId, 'w-1-3')
    await s.replay(d, 'presence', 0, 11_000)
    await s.complete(done(fourth!, 'n', 'retry', { nextAttemptAt: 50_000 }))
    assert.deepEqual(await s.claimEvents(d, 'n', 20_000, 99_000, 1), [], 'the back-off holds')
    const order: string[] = []
    for (;;) {
      const [ev] = await s.claimEvents(d, 'n', 50_000, 99_000, 1)
      if (ev === undefined) break
      order.push(ev.webhookId)
      await s.complete(done(ev, 'n', 'delivered'))
    }
    assert.deepEqual(order, ['w-1-0', 'w-1-1', 'w-1-2', 'w-1-3'])
  })

  test(`${name}: an attempt to an old URL does not switch off a callback given a new one meanwhile`, async (t) => {
    const s = await fresh(t)
    const d = await withDomain(s)
    await on(s, d)
    await presence(s, d, 1, 0)
    await presence(s, d, 1, 1)
    const [ev] = await s.claimEvents(d, 'n', 10_000, 99_000, 10)
    await s.updateCallback(d, 'presence', { url: 'http://127.0.0.1:10/new' }, secret)
    await s.complete(done(ev!, 'n', 'disable', { disabledReason: 'the receiver answered 404' }))
    const cb = await s.getCallback(d, 'presence', secret)
    assert.equal(cb.enabled, true)
    assert.equal(cb.disabledReason, null)
    assert.equal(cb.lastFailureAt, 5000)
    const [next] = await s.claimEvents(d, 'n', 10_001, 99_000, 10)
    assert.equal(next!.webhookId, 'w-1-1')
    assert.equal(next!.url, 'http://127.0.0.1:10/new')
  })

  test(`${name}: a completion by a node whose lease was taken over changes nothing and says so`, async (t) => {
    const s = await fresh(t)
    const d = await withDomain(s)
    await on(s, d)
    await presence(s, d, 1, 0)
    await presence(s, d, 1, 1)
    const [mine] = await s.claimEvents(d, 'n1', 10_000, 20_000, 10)
    const [theirs] = await s.claimEvents(d, 'n2', 20_001, 30_000, 10)
    assert.equal(theirs!.id, mine!.id, 'the expired lease was taken over')
    for (const outcome of ['delivered', 'failed', 'retry', 'disable'] as const) {
      assert.deepEqual(await s.complete(done(mine!, 'n1', outcome, { nextAttemptAt: 90_000, disabledReason: 'x' })), { held: false, next: null }, outcome)
    }
    assert.equal((await s.getCallback(d, 'presence', secret)).enabled, true, 'not switched off by a lost lease')
    assert.deepEqual((await s.listEvents(d, 'presence', 0, 10)).map((e) => e.state), ['pending', 'pending'])
    assert.equal((await s.listLogs(d, 'presence', { limit: 10 })).length, 4, 'each attempt is still in the log')
    assert.deepEqual(await s.complete(done(theirs!, 'n2', 'delivered')), { held: true, next: null })
    assert.deepEqual((await s.claimEvents(d, 'n2', 20_002, 30_000, 10)).map((e) => e.webhookId), ['w-1-1'])
  })

  test(`${name}: a completion that asks for it hands over the user's next event, leased; other nodes cannot claim it`, async (t) => {
    const s = await fresh(t)
    const d = await withDomain(s)
    await on(s, d)
    for (let n = 0; n < 3; n++) await presence(s, d, 1, n)
    await presence(s, d, 2, 0)
    const first = await s.claimEvents(d, 'n1', 10_000, 20_000, 10)
    assert.deepEqual(first.map((e) => e.webhookId), ['w-1-0', 'w-2-0'])
    const chained = await s.complete(done(first[0]!, 'n1', 'delivered', { chainUntil: 40_000 }))
    assert.equal(chained.held, true)
    assert.equal(chained.next?.webhookId, 'w-1-1', 'the next in order')
    assert.deepEqual({ ...chained.next!, id: 0 }, { id: 0, domainId: d, kind: 'presence', userid: 1, webhookId: 'w-1-1', body: '{"u":1,"n":1}',
      createdAt: chained.next!.createdAt, attempts: 0, url: 'http://127.0.0.1:9/hook', secrets: first[0]!.secrets })
    // Past the claim's lease but within the chain's: user 1's queue is still n1's.
    assert.deepEqual((await s.claimEvents(d, 'n2', 20_001, 30_000, 10)).map((e) => e.webhookId), ['w-2-0'])
    assert.deepEqual(await s.readyDomains(30_001), [d], 'user 2 again, its lease over')
    // 'failed' (given up on) chains too; without asking, the queue is released.
    const again = await s.complete(done(chained.next!, 'n1', 'failed', { chainUntil: 50_000 }))
    assert.equal(again.next?.webhookId, 'w-1-2')
    assert.deepEqual(await s.complete(done(again.next!, 'n1', 'delivered')), { held: true, next: null })
    assert.deepEqual((await s.listEvents(d, 'presence', 0, 10)).filter((e) => e.userid === 1).map((e) => e.state), ['delivered', 'failed', 'delivered'])
    assert.deepEqual((await s.claimEvents(d, 'n2', 30_002, 40_000, 10)).filter((e) => e.userid === 1), [], 'user 1 has nothing left')
  })

  test(`${name}: nothing is chained after a retry, past the last event, or for a callback that is off`, async (t) => {
    const s = await fresh(t)
    const d = await withDomain(s)
    await on(s, d)
    await presence(s, d, 1, 0)
    await presence(s, d, 1, 1)
    const [a] = await s.claimEvents(d, 'n', 10_000, 20_000, 10)
    assert.deepEqual(await s.complete(done(a!, 'n', 'retry', { nextAttemptAt: 15_000, chainUntil: 40_000 })), { held: true, next: null })
    assert.deepEqual((await s.claimEvents(d, 'n', 14_999, 20_000, 10)), [], 'the retry waits its back-off')
    const [again] = await s.claimEvents(d, 'n', 15_000, 25_000, 10)
    assert.equal(again!.webhookId, 'w-1-0')
    const b = (await s.complete(done(again!, 'n', 'delivered', { chainUntil: 40_000 }))).next!
    assert.equal(b.webhookId, 'w-1-1')
    assert.deepEqual(await s.complete(done(b, 'n', 'delivered', { chainUntil: 40_000 })), { held: true, next: null }, 'the last one')
    // Off: a new event is held, so there is nothing to chain to, and nothing to claim.
    await presence(s, d, 1, 2)
    await presence(s, d, 1, 3)
    const [c] = await s.claimEvents(d, 'n', 30_000, 40_000, 10)
    await s.updateCallback(d, 'presence', { enabled: false }, secret)
    assert.deepEqual(await s.complete(done(c!, 'n', 'delivered', { chainUntil: 50_000 })), { held: true, next: null })
    await s.updateCallback(d, 'presence', { enabled: true }, secret)
    assert.deepEqual(await s.claimEvents(d, 'n', 60_000, 70_000, 10), [])
  })
}
