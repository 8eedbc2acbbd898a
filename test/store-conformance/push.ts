// The store conformance suite, web push (SPEC §10.1): settings, subscriptions, pushes and their leases.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { withDomain, freshStore, type StoreFactory } from './helpers.ts'

export function pushConformance (name: string, factory: StoreFactory): void {
  const fresh = freshStore(factory)

  const sub = (userid: number, endpoint: string, createdAt: number, domainId = 'acme') =>
    ({ domainId, userid, endpoint: `https://push.test/${endpoint}`, p256dh: `key-${endpoint}`, auth: `auth-${endpoint}`, createdAt })

  test(`${name}: a server setting is kept once: the first value wins, for every node`, async (t) => {
    const s = await fresh(t)
    assert.equal(await s.initSetting('vapid', 'first'), 'first')
    assert.equal(await s.initSetting('vapid', 'second'), 'first')
    if (factory.another !== undefined) {
      const b = await factory.another(s)
      t.after(() => b.close())
      assert.equal(await b.initSetting('vapid', 'third'), 'first')
    }
    const again = await factory.reopen(s)
    t.after(() => again.close())
    assert.equal(await again.initSetting('vapid', 'fourth'), 'first')
  })

  test(`${name}: push subscriptions: kept per user, renewed, at most max (the oldest goes), an endpoint is one user's`, async (t) => {
    const s = await fresh(t)
    await withDomain(s, 'acme')
    for (let i = 1; i <= 4; i++) await s.addPushSubscription(sub(2, `e${i}`, 1000 + i), 3)
    assert.deepEqual((await s.listPushSubscriptions('acme', 2)).map((x) => x.endpoint), ['e2', 'e3', 'e4'].map((e) => `https://push.test/${e}`))
    // the same endpoint again: renewed (new keys, newest now)
    await s.addPushSubscription({ ...sub(2, 'e2', 2000), p256dh: 'new-key' }, 3)
    const listed = await s.listPushSubscriptions('acme', 2)
    assert.deepEqual(listed.map((x) => x.endpoint.slice(-2)), ['e3', 'e4', 'e2'])
    assert.deepEqual(listed[2], { ...sub(2, 'e2', 2000), p256dh: 'new-key' })
    // the same browser registered by another user of the domain: it is that user's now
    await s.addPushSubscription(sub(3, 'e3', 3000), 3)
    assert.deepEqual((await s.listPushSubscriptions('acme', 2)).map((x) => x.endpoint.slice(-2)), ['e4', 'e2'])
    assert.deepEqual((await s.listPushSubscriptions('acme', 3)).map((x) => x.endpoint.slice(-2)), ['e3'])
    assert.equal(await s.removePushSubscription('acme', 2, 'https://push.test/e3'), false, 'not user 2\'s any more')
    assert.equal(await s.removePushSubscription('acme', 2, 'https://push.test/e4'), true)
    assert.equal(await s.removePushSubscription('acme', 2, 'https://push.test/e4'), false)
    assert.deepEqual((await s.listPushSubscriptions('acme', 2)).map((x) => x.endpoint.slice(-2)), ['e2'])
    assert.deepEqual(await s.listPushSubscriptions('acme', 9), [])
  })

  test(`${name}: pushes: one per subscription, leased, retried, finished only by their holder; gone removes the subscription`, async (t) => {
    const s = await fresh(t)
    await withDomain(s, 'acme')
    assert.deepEqual(await s.queuePush('acme', 2, '{"x":0}', 1000), { subscriptions: 0, queued: 0 })
    await s.addPushSubscription(sub(2, 'a', 1), 10)
    await s.addPushSubscription(sub(2, 'b', 2), 10)
    assert.deepEqual(await s.queuePush('acme', 2, '{"x":1}', 1000), { subscriptions: 2, queued: 2 })
    assert.equal(await s.countPushes(), 2)
    assert.deepEqual(await s.claimPushes('n1', 999, 5000, 10), [], 'not due yet')
    const claimed = await s.claimPushes('n1', 1000, 5000, 10)
    assert.deepEqual(claimed.map((c) => [c.endpoint.slice(-1), c.payload, c.attempts, c.keys]), [
      ['a', '{"x":1}', 0, { p256dh: 'key-a', auth: 'auth-a' }],
      ['b', '{"x":1}', 0, { p256dh: 'key-b', auth: 'auth-b' }]
    ])
    assert.deepEqual(await s.claimPushes('n2', 2000, 9000, 10), [], 'leased to n1')
    const [a, b] = claimed as [typeof claimed[0], typeof claimed[0]]
    await s.finishPush(a.id, 'n2', { outcome: 'sent' })
    assert.equal(await s.countPushes(), 2, 'only the holder finishes')
    await s.finishPush(a.id, 'n1', { outcome: 'retry', retryAt: 3000 })
    await s.finishPush(b.id, 'n1', { outcome: 'gone' })
    assert.equal(await s.countPushes(), 1)
    assert.deepEqual((await s.listPushSubscriptions('acme', 2)).map((x) => x.endpoint.slice(-1)), ['a'])
    assert.deepEqual(await s.claimPushes('n2', 2999, 9000, 10), [])
    const again = await s.claimPushes('n2', 3000, 9000, 10)
    assert.deepEqual(again.map((c) => [c.id, c.attempts]), [[a.id, 1]])
    // a lease that ran out is anyone's
    const taken = await s.claimPushes('n3', 9001, 20000, 10)
    assert.deepEqual(taken.map((c) => c.id), [a.id])
    await s.finishPush(a.id, 'n2', { outcome: 'sent' })
    assert.equal(await s.countPushes(), 1, 'n2 lost its lease')
    await s.finishPush(a.id, 'n3', { outcome: 'dropped' })
    assert.equal(await s.countPushes(), 0)
  })

  test(`${name}: a push whose subscription was removed is claimed without keys; erasing a user removes its subscriptions and pushes`, async (t) => {
    const s = await fresh(t)
    await withDomain(s, 'acme')
    await s.addPushSubscription(sub(2, 'a', 1), 10)
    await s.addPushSubscription(sub(3, 'c', 1), 10)
    await s.queuePush('acme', 2, '{}', 1000)
    await s.queuePush('acme', 3, '{}', 1000)
    // removed by the user: its pushes go with it
    assert.equal(await s.removePushSubscription('acme', 2, 'https://push.test/a'), true)
    assert.deepEqual((await s.claimPushes('n1', 1000, 5000, 10)).map((c) => c.userid), [3])
    await s.eraseUser('acme', 3, 2000)
    assert.deepEqual(await s.listPushSubscriptions('acme', 3), [])
    assert.equal(await s.countPushes(), 0)
  })

  test(`${name}: a store that counts every node's connections queues no push while the user has one open`, async (t) => {
    const s = await fresh(t)
    if (s.sharedPresence === undefined) return t.skip('presence is counted in memory on this store')
    await withDomain(s, 'acme')
    await s.addPushSubscription(sub(2, 'a', 1), 10)
    const ev = { webhookId: 'w1', body: '{}' }
    await s.sharedPresence.connect('acme', 2, 1000, ev)
    assert.deepEqual(await s.queuePush('acme', 2, '{}', 1000), { subscriptions: 1, queued: 0 })
    await s.sharedPresence.disconnect('acme', 2, 5000)
    assert.deepEqual(await s.queuePush('acme', 2, '{}', 1000), { subscriptions: 1, queued: 1 })
  })
}
