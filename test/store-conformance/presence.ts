// The store conformance suite, presence: rows and their events, lists, orphans of a node that is gone.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { withDomain, freshStore, type StoreFactory } from './helpers.ts'

export function presenceConformance (name: string, factory: StoreFactory): void {
  const fresh = freshStore(factory)

  test(`${name}: presence changes write the row and an event, in call order`, async (t) => {
    const s = await fresh(t)
    const d = await withDomain(s)
    await s.ensureUser(d, 7, 1000)
    assert.deepEqual(await s.getPresence(d, 7), { userid: 7, status: 'offline', changedAt: 1000 })
    const statuses = ['online', 'away', 'busy', 'online', 'offline'] as const
    await Promise.all(statuses.map((status, i) => s.changePresence({ domainId: d, userid: 7, status, at: 2000 + i, event: { webhookId: `w${i}`, body: `{"n":${i}}` } })))
    assert.deepEqual(await s.getPresence(d, 7), { userid: 7, status: 'offline', changedAt: 2004 })
    // ensureUser never overwrites a known status
    await s.changePresence({ domainId: d, userid: 7, status: 'away', at: 3000, event: { webhookId: 'w-away', body: '{}' } })
    await s.ensureUser(d, 7, 4000)
    assert.equal((await s.getPresence(d, 7))!.status, 'away')
    const events = await s.listEvents(d, 'presence', 0, 100)
    assert.deepEqual(events.map((e) => e.webhookId), ['w0', 'w1', 'w2', 'w3', 'w4', 'w-away'])
    assert.equal(events[0]!.body, '{"n":0}')
    assert.equal(events[0]!.userid, 7)
    assert.equal(events[0]!.kind, 'presence')
    assert.deepEqual(await s.listEvents(d, 'messages', 0, 100), [])
  })

  test(`${name}: presence lists filter by status and find every active user`, async (t) => {
    const s = await fresh(t)
    const a = await withDomain(s, 'a')
    const b = await withDomain(s, 'b')
    const set = (d: string, u: number, status: 'online' | 'away' | 'offline') =>
      s.changePresence({ domainId: d, userid: u, status, at: 1, event: { webhookId: `${d}${u}${status}`, body: '{}' } })
    await Promise.all([set(a, 1, 'online'), set(a, 2, 'away'), set(a, 3, 'offline'), set(b, 1, 'online')])
    assert.deepEqual((await s.listPresence(a)).map((p) => p.userid), [1, 2, 3])
    assert.deepEqual((await s.listPresence(a, 'online')).map((p) => p.userid), [1])
    assert.deepEqual(await s.listOrphanedPresence(), [], 'users of a live node are not orphans')
    await s.ensureUser(a, 4, 1)
    assert.deepEqual((await s.listPresent(a)).map((p) => `${p.userid}/${p.status}`), ['1/online', '2/away'], 'present: not offline, by userid, this domain only')
    await set(a, 1, 'offline')
    assert.deepEqual((await s.listPresent(a)).map((p) => p.userid), [2])
    assert.deepEqual(await s.listPresent(b), [{ userid: 1, status: 'online', changedAt: 1 }])
  })

  test(`${name}: users a node left present are orphans once that node is gone, and only then`, async (t) => {
    let s = await factory.open()
    const a = await withDomain(s, 'a')
    const b = await withDomain(s, 'b')
    const set = (d: string, u: number, status: 'online' | 'away' | 'offline') =>
      s.changePresence({ domainId: d, userid: u, status, at: 1, event: { webhookId: `${d}${u}${status}`, body: '{}' } })
    await Promise.all([set(a, 1, 'online'), set(a, 2, 'away'), set(a, 3, 'offline'), set(b, 1, 'online')])
    await s.close()
    s = await factory.reopen(s)
    t.after(() => s.close())
    const orphans = (await s.listOrphanedPresence()).map((p) => `${p.domainId}/${p.userid}/${p.status}`).sort()
    assert.deepEqual(orphans, ['a/1/online', 'a/2/away', 'b/1/online'])
    await s.changePresence({ domainId: a, userid: 1, status: 'offline', at: 2, event: { webhookId: 'again-a1', body: '{}' } })
    await s.changePresence({ domainId: b, userid: 1, status: 'online', at: 2, event: { webhookId: 'again-b1', body: '{}' } })
    assert.deepEqual((await s.listOrphanedPresence()).map((p) => `${p.domainId}/${p.userid}`), ['a/2'], 'rewritten by this node: its own')
  })
}
