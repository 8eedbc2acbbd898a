// The conformance suite every Store must pass (as aedes-persistence's abstract.js): the
// SQLite store runs it now, the PostgreSQL store will run the same file.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { MessageRow, NewMessage, Store } from '../src/store/index.ts'

export interface StoreFactory {
  /** A fresh, empty, opened store. */
  open: () => Promise<Store>
  /** The same database again, after `close()` (to check what survives). */
  reopen: (s: Store) => Promise<Store>
}

const eventFor = (r: MessageRow) => ({ webhookId: `msg_${r.id}_${Math.random()}`, body: JSON.stringify({ id: r.id, from: r.fromUserid }) })

function msg (domainId: string, from: number, to: number, text: string, at = 1_700_000_000_000): NewMessage {
  return { domainId, fromUserid: from, toUserid: to, type: 0, message: text, p1: '', p2: '', p3: '', at }
}

async function withDomain (s: Store, id = 'acme'): Promise<string> {
  await s.createDomain({ id, name: id.toUpperCase(), apiKeyHash: `hash-${id}`, tokenSecret: `secret-${id}`, createdAt: 1_700_000_000_000 })
  return id
}

export function storeConformance (name: string, factory: StoreFactory): void {
  const fresh = async (t: { after: (fn: () => Promise<void>) => void }): Promise<Store> => {
    const s = await factory.open()
    t.after(() => s.close())
    return s
  }

  test(`${name}: domains are created once, found by id and by key hash, and re-keyed`, async (t) => {
    const s = await fresh(t)
    await withDomain(s, 'acme')
    await withDomain(s, 'beta')
    await assert.rejects(s.createDomain({ id: 'acme', name: 'again', apiKeyHash: 'hash-other', tokenSecret: 'x', createdAt: 1 }),
      (err: { code?: string }) => err.code === 'domain_exists')
    assert.deepEqual(await s.getDomain('acme'), { id: 'acme', name: 'ACME', tokenSecret: 'secret-acme', createdAt: 1_700_000_000_000 })
    assert.equal(await s.getDomain('nope'), null)
    assert.deepEqual((await s.listDomains()).map((d) => d.id), ['acme', 'beta'])
    assert.equal(await s.domainIdByKeyHash('hash-beta'), 'beta')
    await s.setDomainKeyHash('beta', 'hash-beta-2')
    assert.equal(await s.domainIdByKeyHash('hash-beta'), null)
    assert.equal(await s.domainIdByKeyHash('hash-beta-2'), 'beta')
  })

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
    const active = (await s.listActivePresence()).map((p) => `${p.domainId}/${p.userid}/${p.status}`).sort()
    assert.deepEqual(active, ['a/1/online', 'a/2/away', 'b/1/online'])
  })

  test(`${name}: messages get increasing ids, their events carry them, and order follows calls`, async (t) => {
    const s = await fresh(t)
    const d = await withDomain(s)
    const rows = await Promise.all(Array.from({ length: 300 }, (_, i) => s.appendMessage(msg(d, 1 + (i % 3), 9, `m${i}`), eventFor)))
    for (let i = 1; i < rows.length; i++) assert.ok(rows[i]!.id > rows[i - 1]!.id)
    assert.equal(rows[5]!.message, 'm5')
    const events = await s.listEvents(d, 'messages', 0, 1000)
    assert.equal(events.length, 300)
    assert.deepEqual(events.map((e) => JSON.parse(e.body).id), rows.map((r) => r.id))
    assert.deepEqual(events.map((e) => e.userid), rows.map((r) => r.fromUserid))
    // paging the feed
    const page = await s.listEvents(d, 'messages', events[99]!.id, 10)
    assert.deepEqual(page.map((e) => e.id), events.slice(100, 110).map((e) => e.id))
  })

  test(`${name}: message history pages conversations, a user's mail and the domain`, async (t) => {
    const s = await fresh(t)
    const d = await withDomain(s)
    const other = await withDomain(s, 'other')
    const sent: MessageRow[] = []
    for (const [from, to] of [[1, 2], [2, 1], [1, 3], [3, 1], [2, 3], [1, 2], [1, 1]] as const) {
      sent.push(await s.appendMessage(msg(d, from, to, `${from}->${to}`), eventFor))
    }
    await s.appendMessage(msg(other, 1, 2, 'elsewhere'), eventFor)
    const ids = (rows: MessageRow[]) => rows.map((r) => r.message)

    assert.deepEqual(ids(await s.listMessages({ domainId: d, userid: 1, peer: 2, limit: 50 })), ['1->2', '2->1', '1->2'])
    assert.deepEqual(ids(await s.listMessages({ domainId: d, userid: 2, peer: 1, limit: 2 })), ['1->2', '2->1'])
    assert.deepEqual(ids(await s.listMessages({ domainId: d, userid: 1, peer: 2, before: sent[5]!.id, limit: 50 })), ['2->1', '1->2'])
    assert.deepEqual(ids(await s.listMessages({ domainId: d, userid: 1, peer: 2, after: sent[0]!.id, limit: 50 })), ['2->1', '1->2'])
    // a user's mail, both directions, a note to self once
    assert.deepEqual(ids(await s.listMessages({ domainId: d, userid: 1, limit: 50 })), ['1->1', '1->2', '3->1', '1->3', '2->1', '1->2'])
    assert.deepEqual(ids(await s.listMessages({ domainId: d, userid: 1, after: sent[2]!.id, limit: 2 })), ['3->1', '1->2'])
    assert.deepEqual(ids(await s.listMessages({ domainId: d, userid: 1, peer: 1, limit: 50 })), ['1->1'])
    // the domain
    assert.equal((await s.listMessages({ domainId: d, limit: 50 })).length, 7)
    assert.deepEqual(ids(await s.listMessages({ domainId: d, limit: 1 })), ['1->1'])
    assert.deepEqual(ids(await s.listMessages({ domainId: d, after: sent[5]!.id, limit: 50 })), ['1->1'])
    assert.deepEqual(ids(await s.listMessages({ domainId: other, limit: 50 })), ['elsewhere'])
    const row = (await s.listMessages({ domainId: d, userid: 1, peer: 3, limit: 1 }))[0]!
    assert.deepEqual(row, { ...sent[3] })
  })

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

  test(`${name}: a failing write fails alone; the rest of its batch commits`, async (t) => {
    const s = await fresh(t)
    const d = await withDomain(s)
    const ok1 = s.appendMessage(msg(d, 1, 2, 'a'), eventFor)
    const bad = s.appendMessage(msg(d, 1, 2, 'b'), () => ({ webhookId: 'dup', body: '{}' }))
    const bad2 = s.appendMessage(msg(d, 1, 2, 'c'), () => ({ webhookId: 'dup', body: '{}' }))
    const ok2 = s.appendMessage(msg(d, 1, 2, 'd'), eventFor)
    await Promise.all([ok1, bad, ok2])
    await assert.rejects(bad2)
    assert.deepEqual((await s.listMessages({ domainId: d, limit: 10 })).map((m) => m.message), ['d', 'b', 'a'])
  })
}
