// The store conformance suite, the store's life: what survives close and reopen, jobs run by one node at a time.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { eventFor, msg, withDomain, freshStore, type StoreFactory } from './helpers.ts'

export function lifecycleConformance (name: string, factory: StoreFactory): void {
  const fresh = freshStore(factory)

  test(`${name}: what was accepted is still there after close and reopen`, async (t) => {
    let s = await factory.open()
    const d = await withDomain(s)
    const pending = Array.from({ length: 50 }, (_, i) => s.appendMessage(msg(d, 1, 2, `m${i}`), eventFor))
    const presence = s.changePresence({ domainId: d, userid: 1, status: 'online', at: 5, event: { webhookId: 'p1', body: '{}' } })
    await s.close() // drains what is queued
    await Promise.all([...pending, presence])
    s = await factory.reopen(s)
    t.after(() => s.close())
    assert.equal((await s.listMessages({ domainId: d, limit: 100 })).length, 50)
    assert.equal((await s.listEvents(d, 'messages', 0, 100)).length, 50)
    assert.equal((await s.getPresence(d, 1))!.status, 'online')
  })

  test(`${name}: a periodic job runs on one node at a time`, async (t) => {
    const s = await fresh(t)
    if (factory.another === undefined) {
      assert.equal(await s.exclusively('job', async () => 7), 7, 'one node: it runs')
      return
    }
    const other = await factory.another(s)
    t.after(() => other.close())
    let release!: () => void
    const held = new Promise<void>((resolve) => { release = resolve })
    let entered!: () => void
    const running = new Promise<void>((resolve) => { entered = resolve })
    const first = s.exclusively('job', async () => { entered(); await held; return 'first' })
    await running
    assert.equal(await other.exclusively('job', async () => 'second'), null, 'taken by the other node')
    assert.equal(await other.exclusively('another job', async () => 'free'), 'free')
    release()
    assert.equal(await first, 'first')
    assert.equal(await other.exclusively('job', async () => 'now mine'), 'now mine')
  })
}
