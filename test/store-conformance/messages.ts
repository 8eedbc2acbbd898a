// The store conformance suite, messages: ids and events, history pages, retention, a failing write in a batch.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { MessageRow } from '../../src/store/index.ts'
import { eventFor, msg, withDomain, freshStore, type StoreFactory } from './helpers.ts'

export function messagesConformance (name: string, factory: StoreFactory): void {
  const fresh = freshStore(factory)

  test(`${name}: retention deletes a domain's old messages in batches; conversations and unread counts follow`, async (t) => {
    const s = await fresh(t)
    const d = await withDomain(s)
    const other = await withDomain(s, 'other')
    const DAY = 86_400_000
    // 1 and 2 talked long ago only; 1 and 3 long ago and recently; 4 wrote 5000 old ones to 5
    await s.appendMessage(msg(d, 1, 2, 'old 1->2', 1 * DAY), eventFor)
    const old13 = await s.appendMessage(msg(d, 3, 1, 'old 3->1', 2 * DAY), eventFor)
    for (let i = 0; i < 5000; i += 500) {
      await Promise.all(Array.from({ length: 500 }, (_, j) => s.appendMessage(msg(d, 4, 5, `bulk ${i + j}`, 3 * DAY), eventFor)))
    }
    await s.appendMessage(msg(other, 1, 2, 'other domain, old', 1 * DAY), eventFor)
    const new31 = await s.appendMessage(msg(d, 3, 1, 'new 3->1', 10 * DAY), eventFor)
    await s.appendMessage(msg(d, 3, 1, 'newer 3->1', 11 * DAY), eventFor)
    assert.deepEqual(await s.markRead(d, 1, 3, old13.id), { ok: true, changed: true, readUpTo: old13.id, unread: 2 })
    await s.appendMessage(msg(d, 4, 5, 'new bulk', 12 * DAY), eventFor)
    assert.equal((await s.listConversations(d, 5, { limit: 5 }))[0]!.unread, 5001)

    assert.equal(await s.pruneMessages(d, 5 * DAY), 5002)
    assert.deepEqual((await s.listMessages({ domainId: d, limit: 50 })).map((m) => m.message), ['new bulk', 'newer 3->1', 'new 3->1'])
    assert.equal((await s.listMessages({ domainId: other, limit: 50 })).length, 1, 'another domain keeps its own')
    const one = await s.listConversations(d, 1, { limit: 10 })
    assert.deepEqual(one.map((c) => [c.peer.userid, c.unread, c.last?.message]), [[3, 2, 'newer 3->1']], 'the conversation with 2 is gone')
    assert.deepEqual((await s.listConversations(d, 2, { limit: 10 })), [])
    assert.deepEqual((await s.listConversations(d, 5, { limit: 10 })).map((c) => [c.peer.userid, c.unread]), [[4, 1]])
    // the marker still moves on from where it was
    assert.deepEqual(await s.markRead(d, 1, 3, new31.id), { ok: true, changed: true, readUpTo: new31.id, unread: 1 })
    assert.equal(await s.pruneMessages(d, 5 * DAY), 0)
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

  test(`${name}: a failing write fails alone; the rest of its batch commits`, async (t) => {
    const s = await fresh(t)
    const d = await withDomain(s)
    const ok1 = s.appendMessage(msg(d, 1, 2, 'a'), eventFor)
    const bad = s.appendMessage(msg(d, 1, 2, 'b'), () => ({ webhookId: 'dup', body: '{}' }))
    const bad2 = s.appendMessage(msg(d, 1, 2, 'c'), () => ({ webhookId: 'dup', body: '{}' }))
    const ok2 = s.appendMessage(msg(d, 1, 2, 'd'), eventFor)
    // the failure may come before the others settle (they are written again one by one)
    const bad2Refused = assert.rejects(bad2)
    await Promise.all([ok1, bad, ok2])
    await bad2Refused
    assert.deepEqual((await s.listMessages({ domainId: d, limit: 10 })).map((m) => m.message), ['d', 'b', 'a'])
  })
}
