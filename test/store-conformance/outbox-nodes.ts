// The store conformance suite, the outbox with several nodes and long operations: leases of
// nodes that are gone, claims at once, replays and switch-offs larger than a batch, writes
// through two nodes, a lost claim's leases. (The outbox on one node: outbox.ts.)
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Store } from '../../src/store/index.ts'
import { type StoreFactory, eventFor, freshStore, msg, withDomain } from './helpers.ts'
import { done, on, presence, secret } from './outbox.ts'

export function outboxNodesConformance (name: string, factory: StoreFactory): void {
  const fresh = freshStore(factory)

  test(`${name}: recovery frees the leases of nodes that are gone, never a live node's`, async (t) => {
    const s = await fresh(t)
    const d = await withDomain(s)
    await on(s, d)
    await presence(s, d, 1, 0)
    await presence(s, d, 2, 0)
    const now = s.now()
    const [live] = await s.claimEvents(d, s.nodeId, now, now + 600_000, 1)
    const [dead] = await s.claimEvents(d, 'a-node-that-is-gone', now, now + 600_000, 1)
    assert.notEqual(live!.userid, dead!.userid)
    await s.recoverOutbox(now)
    const again = await s.claimEvents(d, 'n', now + 1, now + 600_000, 10)
    assert.deepEqual(again.map((e) => e.id), [dead!.id], 'only the gone node\'s event is free again')
  })

  test(`${name}: two dispatchers claiming at once never get the same event`, async (t) => {
    const s = await fresh(t)
    const d = await withDomain(s)
    await on(s, d)
    await Promise.all(Array.from({ length: 200 }, (_, u) => presence(s, d, u + 1, 0)))
    const seen = new Set<number>()
    let claimed = 0
    const worker = async (node: string) => {
      for (;;) {
        const got = await s.claimEvents(d, node, 10_000, 99_000, 7)
        if (got.length === 0) return
        for (const ev of got) { assert.ok(!seen.has(ev.id), `event ${ev.id} claimed twice`); seen.add(ev.id) }
        claimed += got.length
      }
    }
    const other = factory.another === undefined ? s : await factory.another(s)
    if (other !== s) t.after(() => other.close())
    await Promise.all([worker('n1'), worker('n2'), (async () => {
      for (;;) {
        const got = await other.claimEvents(d, 'n3', 10_000, 99_000, 5)
        if (got.length === 0) return
        for (const ev of got) { assert.ok(!seen.has(ev.id), `event ${ev.id} claimed twice`); seen.add(ev.id) }
        claimed += got.length
      }
    })()])
    assert.equal(claimed, 200)
  })

  test(`${name}: a replay and a switch-off larger than one batch keep each user's order`, async (t) => {
    const s = await fresh(t)
    const d = await withDomain(s)
    const n = 12_000
    await Promise.all(Array.from({ length: n }, (_, i) => s.changePresence({ domainId: d, userid: 1 + (i % 3), status: 'online', at: 1000 + i, event: { webhookId: `big-${i}`, body: `{"i":${i}}` } })))
    await on(s, d)
    assert.equal(await s.replay(d, 'presence', 0, 10_000), n)
    // while a replay is not under way, claims go on; drain and check each user's order
    const last = new Map<number, number>()
    let sent = 0
    for (;;) {
      const got = await s.claimEvents(d, 'n', 10_000, 99_000, 64)
      if (got.length === 0) break
      for (const ev of got) {
        assert.ok((last.get(ev.userid) ?? -1) < ev.id, `user ${ev.userid} out of order`)
        last.set(ev.userid, ev.id)
      }
      await Promise.all(got.map((ev) => s.complete(done(ev, 'n', 'delivered'))))
      sent += got.length
      if (sent === 3) {
        // switched off mid-way: every pending event is held, in batches
        await s.updateCallback(d, 'presence', { enabled: false }, secret)
        assert.equal(await s.countPending(d, 'presence'), 0)
        await on(s, d)
        assert.equal(await s.replay(d, 'presence', 0, 10_000), n)
        last.clear()
      }
    }
    assert.equal(sent, n + 3)
  })

  test(`${name}: one user's events written through two nodes at once go out in id order`, async (t) => {
    const s = await fresh(t)
    if (factory.another === undefined) return t.skip('one node only')
    const other = await factory.another(s)
    t.after(() => other.close())
    const d = await withDomain(s)
    await on(s, d, 'messages')
    const delivered: number[] = []
    let writing = true
    const drain = (async () => {
      for (;;) {
        const got = await s.claimEvents(d, 'n', s.now(), s.now() + 99_000, 10)
        for (const ev of got) { delivered.push(ev.id); await s.complete(done(ev, 'n', 'delivered')) }
        if (got.length === 0) {
          if (!writing) return
          await new Promise((resolve) => setImmediate(resolve))
        }
      }
    })()
    const write = (store: Store, tag: string) => Promise.all(Array.from({ length: 150 }, (_, i) =>
      store.appendMessage(msg(d, 1, 2, `${tag}${i}`), eventFor)))
    await Promise.all([write(s, 'a'), write(other, 'b')])
    writing = false
    await drain
    assert.equal(delivered.length, 300)
    assert.deepEqual(delivered, [...delivered].sort((a, b) => a - b), 'delivered in id order')
  })

  test(`${name}: an event whose attempt ends while a replay runs is sent again`, async (t) => {
    const s = await fresh(t)
    const d = await withDomain(s)
    await on(s, d)
    await presence(s, d, 1, 0, 1000)
    const [ev] = await s.claimEvents(d, 'n', 10_000, 99_000, 10)
    // behind it, enough of user 2's events for the replay to take several batches
    const n = 12_000
    await Promise.all(Array.from({ length: n }, (_, i) => s.changePresence({ domainId: d, userid: 2, status: 'online', at: 2000 + i, event: { webhookId: `u2-${i}`, body: '{}' } })))
    // the attempt ends while the replay runs (between its batches)
    const replaying = s.replay(d, 'presence', 0, 10_000)
    assert.deepEqual(await s.complete(done(ev!, 'n', 'delivered')), { held: true, next: null })
    assert.equal(await replaying, n + 1)
    const heads = await s.claimEvents(d, 'n', 10_001, 99_000, 10)
    assert.ok(heads.some((e) => e.id === ev!.id), 'sent again')
  })

  test(`${name}: a node frees the leases it holds but is not using (a claim whose answer was lost)`, async (t) => {
    const s = await fresh(t)
    const d = await withDomain(s)
    await on(s, d)
    await presence(s, d, 1, 0)
    await presence(s, d, 2, 0)
    const [a, b] = await s.claimEvents(d, 'n1', 10_000, 99_000, 10)
    assert.deepEqual(await s.claimEvents(d, 'n2', 10_001, 99_000, 10), [], 'both leased')
    assert.equal(await s.releaseLeases('n1', [a!.id], 10_002), 1)
    assert.deepEqual((await s.claimEvents(d, 'n2', 10_002, 99_000, 10)).map((e) => e.id), [b!.id], 'the one not in use is free')
    assert.equal(await s.releaseLeases('n1', [a!.id], 10_003), 0, 'the one in use stays leased')
  })
}
