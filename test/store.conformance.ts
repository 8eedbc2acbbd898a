// The conformance suite every Store must pass (as aedes-persistence's abstract.js): the
// SQLite store (store-sqlite.test.ts) and the PostgreSQL store (store-postgres.test.ts) run
// this same file. Tests that need two nodes on one database run where the store has them.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { ClaimedEvent, Completion, EventKind, FileRow, MessageRow, NewMessage, Store } from '../src/store/index.ts'

export interface StoreFactory {
  /** A fresh, empty, opened store. */
  open: () => Promise<Store>
  /** The same database again, after `close()` (to check what survives). */
  reopen: (s: Store) => Promise<Store>
  /** Another node on the same database, open at the same time (stores that have several nodes). */
  another?: (s: Store) => Promise<Store>
  /**
   * Deletes a domain's messages behind the store's back, as retention and user erasure will
   * (their store methods are built elsewhere): the files those messages carried are then
   * nobody's.
   */
  deleteMessages: (s: Store, domainId: string) => Promise<void>
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
    assert.deepEqual(await s.getDomain('acme'), { id: 'acme', name: 'ACME', tokenSecret: 'secret-acme', createdAt: 1_700_000_000_000, retentionDays: 0, allowedOrigins: [], contacts: 'everyone' })
    assert.equal(await s.getDomain('nope'), null)
    assert.deepEqual((await s.listDomains()).map((d) => d.id), ['acme', 'beta'])
    assert.equal(await s.domainIdByKeyHash('hash-beta'), 'beta')
    await s.setDomainKeyHash('beta', 'hash-beta-2')
    assert.equal(await s.domainIdByKeyHash('hash-beta'), null)
    assert.equal(await s.domainIdByKeyHash('hash-beta-2'), 'beta')
  })

  test(`${name}: a domain's settings are patched field by field`, async (t) => {
    const s = await fresh(t)
    await withDomain(s, 'acme')
    const patched = await s.updateDomain('acme', { retentionDays: 30, allowedOrigins: ['https://www.acme.test', 'http://localhost:3000'] })
    assert.deepEqual(patched, { id: 'acme', name: 'ACME', tokenSecret: 'secret-acme', createdAt: 1_700_000_000_000, retentionDays: 30, allowedOrigins: ['https://www.acme.test', 'http://localhost:3000'], contacts: 'everyone' })
    await s.updateDomain('acme', { name: 'Acme Ltd' })
    assert.deepEqual(await s.getDomain('acme'), { ...patched, name: 'Acme Ltd' })
    await s.updateDomain('acme', { allowedOrigins: [], retentionDays: 0 })
    const d = await s.getDomain('acme')
    assert.deepEqual([d!.allowedOrigins, d!.retentionDays, d!.name], [[], 0, 'Acme Ltd'])
    assert.equal((await s.updateDomain('acme', { contacts: 'friends' }))!.contacts, 'friends')
    assert.deepEqual(await s.getDomain('acme'), { ...d, contacts: 'friends' }, 'only contacts changed')
    assert.equal((await s.updateDomain('acme', { name: 'Acme' }))!.contacts, 'friends', 'kept when not patched')
    assert.equal(await s.updateDomain('nope', { name: 'x' }), null)
  })

  test(`${name}: profiles are created with the user, patched field by field, listed with presence by userid`, async (t) => {
    const s = await fresh(t)
    const d = await withDomain(s)
    const other = await withDomain(s, 'other')
    await s.setProfile(d, 5, { name: 'Ada', avatar: 'https://a.test/ada.png' }, 1000)
    assert.deepEqual(await s.getUser(d, 5), { userid: 5, status: 'offline', changedAt: 1000, name: 'Ada', avatar: 'https://a.test/ada.png', link: null })
    await s.setProfile(d, 5, { link: 'https://a.test/ada' }, 2000)
    await s.setProfile(d, 5, { avatar: null }, 3000)
    assert.deepEqual(await s.getUser(d, 5), { userid: 5, status: 'offline', changedAt: 1000, name: 'Ada', avatar: null, link: 'https://a.test/ada' })
    // presence is the user's own, untouched by its profile
    await s.changePresence({ domainId: d, userid: 5, status: 'online', at: 4000, event: { webhookId: 'p5', body: '{}' } })
    await s.setProfile(d, 5, { name: 'Ada L.' }, 5000)
    assert.deepEqual(await s.getUser(d, 5), { userid: 5, status: 'online', changedAt: 4000, name: 'Ada L.', avatar: null, link: 'https://a.test/ada' })
    await s.ensureUser(d, 2, 10)
    await s.ensureUser(d, 9, 10)
    await s.setProfile(other, 3, { name: 'elsewhere' }, 10)
    assert.deepEqual(await s.getUser(d, 2), { userid: 2, status: 'offline', changedAt: 10, name: null, avatar: null, link: null })
    assert.equal(await s.getUser(d, 3), null)
    assert.deepEqual((await s.listUsers(d, { limit: 10 })).map((u) => u.userid), [2, 5, 9])
    assert.deepEqual((await s.listUsers(d, { limit: 2 })).map((u) => u.userid), [2, 5])
    assert.deepEqual((await s.listUsers(d, { after: 5, limit: 2 })).map((u) => u.userid), [9])
    assert.deepEqual((await s.listUsers(d, { status: 'online', limit: 10 })).map((u) => [u.userid, u.name]), [[5, 'Ada L.']])
    assert.deepEqual((await s.listUsers(other, { limit: 10 })).map((u) => u.userid), [3])
  })

  test(`${name}: conversations follow each message: last message, most recent first, unread and both read markers`, async (t) => {
    const s = await fresh(t)
    const d = await withDomain(s)
    await s.setProfile(d, 2, { name: 'Bob' }, 1)
    const m1 = await s.appendMessage(msg(d, 1, 2, 'hi bob'), eventFor)
    const m2 = await s.appendMessage(msg(d, 2, 1, 'hi'), eventFor)
    const m3 = await s.appendMessage(msg(d, 2, 1, 'how are you?'), eventFor)
    const m4 = await s.appendMessage(msg(d, 3, 1, 'from carol'), eventFor)
    await s.appendMessage(msg(d, 1, 1, 'note to self'), eventFor)
    const list = await s.listConversations(d, 1, { limit: 10 })
    assert.deepEqual(list.map((c) => [c.peer.userid, c.last?.message, c.unread, c.readUpTo, c.peerReadUpTo]),
      [[1, 'note to self', 0, 0, 0], [3, 'from carol', 1, 0, 0], [2, 'how are you?', 2, 0, 0]])
    assert.deepEqual(list[2]!.peer, { userid: 2, status: 'offline', changedAt: 1, name: 'Bob', avatar: null, link: null })
    assert.deepEqual(list[2]!.last, m3)
    // a peer that never had a presence row (a send from the customer's server) is offline
    assert.deepEqual(list[1]!.peer, { userid: 3, status: 'offline', changedAt: 0, name: null, avatar: null, link: null })
    assert.deepEqual((await s.listConversations(d, 1, { limit: 1, before: m4.id })).map((c) => c.peer.userid), [2])

    // reading moves only forward, never past the last message, and recounts what is unread
    assert.deepEqual(await s.markRead(d, 1, 2, m2.id), { ok: true, changed: true, readUpTo: m2.id, unread: 1 })
    assert.deepEqual(await s.markRead(d, 1, 2, m2.id), { ok: true, changed: false, readUpTo: m2.id, unread: 1 })
    assert.deepEqual(await s.markRead(d, 1, 2, m1.id), { ok: false, reason: 'backwards', readUpTo: m2.id, lastId: m3.id })
    assert.deepEqual(await s.markRead(d, 1, 2, m3.id + 100), { ok: false, reason: 'beyond_last', readUpTo: m2.id, lastId: m3.id })
    assert.deepEqual(await s.markRead(d, 1, 7, 1), { ok: false, reason: 'no_conversation', readUpTo: 0, lastId: 0 })
    assert.deepEqual(await s.markRead(d, 2, 1, m1.id), { ok: true, changed: true, readUpTo: m1.id, unread: 0 })
    const one = (await s.listConversations(d, 1, { limit: 10 })).find((c) => c.peer.userid === 2)!
    assert.deepEqual([one.unread, one.readUpTo, one.peerReadUpTo], [1, m2.id, m1.id])
    const two = (await s.listConversations(d, 2, { limit: 10 }))
    assert.deepEqual(two.map((c) => [c.peer.userid, c.unread, c.readUpTo, c.peerReadUpTo]), [[1, 0, m1.id, m2.id]])
    // a new message raises the count; the conversation moves to the top
    await s.appendMessage(msg(d, 2, 1, 'still there?'), eventFor)
    const top = (await s.listConversations(d, 1, { limit: 10 }))[0]!
    assert.deepEqual([top.peer.userid, top.unread, top.last?.message], [2, 2, 'still there?'])
  })

  test(`${name}: many messages of a pair written at once count every unread one`, async (t) => {
    const s = await fresh(t)
    const d = await withDomain(s)
    await Promise.all(Array.from({ length: 200 }, (_, i) => s.appendMessage(msg(d, 1 + (i % 2), 2 - (i % 2), `m${i}`), eventFor)))
    const [c] = await s.listConversations(d, 2, { limit: 10 })
    assert.deepEqual([c!.peer.userid, c!.unread, c!.last?.message], [1, 100, 'm199'])
    const [c1] = await s.listConversations(d, 1, { limit: 10 })
    assert.equal(c1!.unread, 100)
  })

  test(`${name}: blocks are per direction and undone by unblocking`, async (t) => {
    const s = await fresh(t)
    const d = await withDomain(s)
    assert.equal(await s.isBlocked(d, 1, 2), false)
    await s.setBlock(d, 1, 2, true, 1)
    await s.setBlock(d, 1, 2, true, 2)
    assert.equal(await s.isBlocked(d, 1, 2), true)
    assert.equal(await s.isBlocked(d, 2, 1), false)
    await s.setBlock(d, 1, 2, false, 3)
    assert.equal(await s.isBlocked(d, 1, 2), false)
  })

  test(`${name}: a message to a user who blocked its sender is refused with blocked and leaves nothing; its batch commits`, async (t) => {
    const s = await fresh(t)
    const d = await withDomain(s)
    await s.setBlock(d, 2, 1, true, 1)
    // one batch: allowed, refused, allowed, a note to self, and the blocked pair the other way
    const sends = [msg(d, 3, 2, 'from carol'), msg(d, 1, 2, 'blocked one'), msg(d, 3, 2, 'carol again'), msg(d, 1, 1, 'self'), msg(d, 2, 1, 'bob to ada')]
    const results = await Promise.allSettled(sends.map((m) => s.appendMessage(m, eventFor)))
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled'])
    const refused = (results[1] as PromiseRejectedResult).reason as { code?: string, message?: string }
    assert.equal(refused.code, 'blocked')
    assert.match(refused.message ?? '', /user 2 does not accept your messages/)
    const ids = results.flatMap((r) => r.status === 'fulfilled' ? [r.value.id] : [])
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i]! > ids[i - 1]!, 'ids still follow the calls')
    const stored = await s.listMessages({ domainId: d, limit: 100 })
    assert.deepEqual(stored.map((m) => m.message).sort(), ['bob to ada', 'carol again', 'from carol', 'self'])
    const events = await s.listEvents(d, 'messages', 0, 100)
    assert.deepEqual(events.map((e) => JSON.parse(e.body).id), ids, 'no event for the refused message, each other carries its id')
    assert.equal((await s.listConversations(d, 1, { limit: 10 })).find((c) => c.peer.userid === 2)?.unread, 1, 'only bob to ada counts on ada\'s side')
    assert.equal((await s.listConversations(d, 2, { limit: 10 })).find((c) => c.peer.userid === 1)?.unread ?? 0, 0, 'nothing from ada on bob\'s side')
    // unblocked: the next one goes through
    await s.setBlock(d, 2, 1, false, 2)
    assert.equal((await s.appendMessage(msg(d, 1, 2, 'after unblock'), eventFor)).message, 'after unblock')
  })

  test(`${name}: friendship is mutual, listed with profile and presence by userid, and removed both ways`, async (t) => {
    const s = await fresh(t)
    const d = await withDomain(s)
    const other = await withDomain(s, 'other')
    await s.setProfile(d, 3, { name: 'Carol', avatar: 'https://a.test/c.png' }, 1)
    await s.changePresence({ domainId: d, userid: 3, status: 'away', at: 5000, event: { webhookId: 'w1', body: '{}' } })
    assert.equal(await s.areFriends(d, 1, 3), false)
    await s.setFriend(d, 1, 3, true, 10)
    await s.setFriend(d, 3, 1, true, 11) // already so: nothing changes
    await s.setFriend(d, 2, 1, true, 12) // 2 never had a presence row nor a profile
    await s.setFriend(other, 1, 4, true, 13)
    assert.equal(await s.areFriends(d, 1, 3), true)
    assert.equal(await s.areFriends(d, 3, 1), true, 'both ways')
    assert.equal(await s.areFriends(d, 2, 3), false)
    assert.equal(await s.areFriends(d, 1, 4), false, 'another domain\'s friendship is its own')
    assert.deepEqual(await s.listFriends(d, 1), [
      { userid: 2, status: 'offline', changedAt: 0, name: null, avatar: null, link: null },
      { userid: 3, status: 'away', changedAt: 5000, name: 'Carol', avatar: 'https://a.test/c.png', link: null }
    ])
    assert.deepEqual((await s.listFriends(d, 3)).map((u) => u.userid), [1])
    assert.deepEqual((await s.listFriends(d, 2)).map((u) => u.userid), [1])
    await s.setFriend(d, 3, 1, false, 20) // removed from the other side: gone both ways
    assert.equal(await s.areFriends(d, 1, 3), false)
    assert.deepEqual((await s.listFriends(d, 1)).map((u) => u.userid), [2])
    assert.deepEqual(await s.listFriends(d, 3), [])
    await s.setFriend(d, 3, 1, false, 21) // not friends: nothing to do
    assert.deepEqual((await s.listFriends(other, 1)).map((u) => u.userid), [4])
  })

  test(`${name}: in a domain whose contacts are friends, a message to a non-friend is refused with forbidden and leaves nothing; its batch commits`, async (t) => {
    const s = await fresh(t)
    const d = await withDomain(s)
    const open = await withDomain(s, 'open')
    await s.updateDomain(d, { contacts: 'friends' })
    await s.setFriend(d, 1, 2, true, 1)
    await s.setFriend(d, 1, 4, true, 1)
    await s.setBlock(d, 4, 1, true, 1) // a friend who blocked: blocked wins
    const sends = [msg(d, 1, 2, 'to a friend'), msg(d, 1, 3, 'to a stranger'), msg(d, 2, 1, 'back'), msg(d, 3, 3, 'self'), msg(d, 1, 4, 'to a friend who blocked'),
      msg(open, 1, 3, 'everyone may')]
    const results = await Promise.allSettled(sends.map((m) => s.appendMessage(m, eventFor)))
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled'])
    const refused = (results[1] as PromiseRejectedResult).reason as { code?: string, message?: string }
    assert.equal(refused.code, 'forbidden')
    assert.match(refused.message ?? '', /user 3 is not your friend/)
    assert.equal(((results[4] as PromiseRejectedResult).reason as { code?: string }).code, 'blocked')
    assert.deepEqual((await s.listMessages({ domainId: d, limit: 100 })).map((m) => m.message).sort(), ['back', 'self', 'to a friend'])
    const ids = results.flatMap((r, i) => r.status === 'fulfilled' && i < 5 ? [r.value.id] : [])
    assert.deepEqual((await s.listEvents(d, 'messages', 0, 100)).map((e) => JSON.parse(e.body).id), ids, 'no event for the refused ones')
    assert.deepEqual(await s.listConversations(d, 3, { limit: 10 }).then((cs) => cs.map((c) => c.peer.userid)), [3], 'nothing from 1 on 3\'s side')
    // befriended: the next one goes through; unfriended: refused again; everyone: anyone
    await s.setFriend(d, 3, 1, true, 2)
    assert.equal((await s.appendMessage(msg(d, 1, 3, 'now friends'), eventFor)).message, 'now friends')
    await s.setFriend(d, 1, 3, false, 3)
    await assert.rejects(s.appendMessage(msg(d, 3, 1, 'no longer'), eventFor), (err: { code?: string }) => err.code === 'forbidden')
    await s.updateDomain(d, { contacts: 'everyone' })
    assert.equal((await s.appendMessage(msg(d, 3, 1, 'open again'), eventFor)).message, 'open again')
  })

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

  test(`${name}: erasing a user removes its messages both ways, conversations on both sides, profile, presence, blocks and friendships`, async (t) => {
    const s = await fresh(t)
    const d = await withDomain(s)
    await s.setProfile(d, 1, { name: 'Gone soon' }, 1)
    await s.setProfile(d, 2, { name: 'Stays' }, 1)
    await s.setBlock(d, 1, 3, true, 1)
    await s.setBlock(d, 3, 1, true, 1)
    await s.setBlock(d, 2, 3, true, 1)
    await s.setFriend(d, 1, 2, true, 1)
    await s.setFriend(d, 3, 1, true, 1)
    await s.setFriend(d, 2, 3, true, 1)
    for (let i = 0; i < 30; i++) await s.appendMessage(msg(d, i % 2 === 0 ? 1 : 2, i % 2 === 0 ? 2 : 1, `m${i}`), eventFor)
    await s.appendMessage(msg(d, 2, 3, 'not about 1'), eventFor)
    await s.appendMessage(msg(d, 1, 1, 'note to self'), eventFor)
    assert.equal(await s.erasedAt(d, 1), null)

    assert.equal(await s.eraseUser(d, 1, 5000), 31)
    assert.equal(await s.erasedAt(d, 1), 5000)
    assert.deepEqual(await s.listMessages({ domainId: d, userid: 1, limit: 50 }), [])
    assert.deepEqual((await s.listMessages({ domainId: d, limit: 50 })).map((m) => m.message), ['not about 1'])
    assert.deepEqual(await s.listConversations(d, 1, { limit: 10 }), [])
    assert.deepEqual((await s.listConversations(d, 2, { limit: 10 })).map((c) => c.peer.userid), [3])
    assert.equal(await s.getUser(d, 1), null)
    assert.equal((await s.getUser(d, 2))!.name, 'Stays')
    assert.equal(await s.isBlocked(d, 1, 3), false)
    assert.equal(await s.isBlocked(d, 3, 1), false)
    assert.equal(await s.isBlocked(d, 2, 3), true)
    assert.deepEqual(await s.listFriends(d, 1), [])
    assert.deepEqual((await s.listFriends(d, 2)).map((u) => u.userid), [3], 'its friends are no longer its friends')
    assert.deepEqual((await s.listFriends(d, 3)).map((u) => u.userid), [2])
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
    // the failure may come before the others settle (they are written again one by one)
    const bad2Refused = assert.rejects(bad2)
    await Promise.all([ok1, bad, ok2])
    await bad2Refused
    assert.deepEqual((await s.listMessages({ domainId: d, limit: 10 })).map((m) => m.message), ['d', 'b', 'a'])
  })

  // --- the outbox ---

  const secret = () => `whsec_${Math.random()}`
  const presence = (s: Store, d: string, userid: number, n: number, at = 1000 + n) =>
    s.changePresence({ domainId: d, userid, status: n % 2 === 0 ? 'online' : 'away', at, event: { webhookId: `w-${userid}-${n}`, body: `{"u":${userid},"n":${n}}` } })
  const on = (s: Store, d: string, kind: EventKind = 'presence') => s.updateCallback(d, kind, { url: 'http://127.0.0.1:9/hook', enabled: true }, secret)
  const done = (ev: ClaimedEvent, nodeId: string, outcome: Completion['outcome'], extra: Partial<Completion> = {}): Completion => ({
    eventId: ev.id, nodeId, domainId: ev.domainId, kind: ev.kind, userid: ev.userid, at: 5000, outcome,
    log: { domainId: ev.domainId, kind: ev.kind, eventId: ev.id, webhookId: ev.webhookId, at: 5000, url: ev.url, requestHeaders: { a: 'b' }, requestBody: ev.body, responseStatus: 200, responseBody: 'ok', durationMs: 3, error: null, attempt: ev.attempts + 1, result: outcome === 'delivered' ? 'ok' : 'failed' },
    ...extra
  })

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
      assert.equal(await s.complete(done(mine!, 'n1', outcome, { nextAttemptAt: 90_000, disabledReason: 'x' })), false, outcome)
    }
    assert.equal((await s.getCallback(d, 'presence', secret)).enabled, true, 'not switched off by a lost lease')
    assert.deepEqual((await s.listEvents(d, 'presence', 0, 10)).map((e) => e.state), ['pending', 'pending'])
    assert.equal((await s.listLogs(d, 'presence', { limit: 10 })).length, 4, 'each attempt is still in the log')
    assert.equal(await s.complete(done(theirs!, 'n2', 'delivered')), true)
    assert.deepEqual((await s.claimEvents(d, 'n2', 20_002, 30_000, 10)).map((e) => e.webhookId), ['w-1-1'])
  })

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
    assert.equal(await s.complete(done(ev!, 'n', 'delivered')), true)
    assert.equal(await replaying, n + 1)
    const heads = await s.claimEvents(d, 'n', 10_001, 99_000, 10)
    assert.ok(heads.some((e) => e.id === ev!.id), 'sent again')
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

  const file = (domainId: string, id: string, createdAt: number, size = 1000): FileRow => ({
    domainId, id, contentType: 'image/png', size, thumbnailSize: 100, width: 640, height: 480, durationMs: null, createdAt, attachedAt: null
  })

  test(`${name}: files are recorded, found only in their domain, and counted for the quota`, async (t) => {
    const s = await fresh(t)
    const a = await withDomain(s, 'a')
    const b = await withDomain(s, 'b')
    await s.createFile(file(a, 'f1', 1000, 5000))
    await s.createFile({ ...file(a, 'f2', 1000, 7000), contentType: 'audio/ogg', thumbnailSize: 0, width: null, height: null, durationMs: 1500 })
    assert.deepEqual(await s.getFile(a, 'f1'), file(a, 'f1', 1000, 5000))
    assert.equal((await s.getFile(a, 'f2'))!.durationMs, 1500)
    assert.equal(await s.getFile(b, 'f1'), null, 'another domain does not see it')
    assert.equal(await s.storedBytes(a), 5000 + 100 + 7000)
    assert.equal(await s.storedBytes(b), 0)
  })

  test(`${name}: a file no message carries is swept after the cut-off; one sent is kept until its messages are gone`, async (t) => {
    const s = await fresh(t)
    const d = await withDomain(s)
    const DAY = 24 * 3600 * 1000
    const t0 = 1_700_000_000_000
    await s.createFile(file(d, 'sent', t0))
    await s.createFile(file(d, 'unsent', t0))
    await s.createFile(file(d, 'recent', t0 + DAY))
    await s.appendMessage({ ...msg(d, 1, 2, 'http://x/files/acme/sent', t0 + 5), type: 2, fileId: 'sent' }, eventFor)
    await s.appendMessage({ ...msg(d, 2, 1, 'http://x/files/acme/sent', t0 + 6), type: 2, fileId: 'sent' }, eventFor)
    const sent = (await s.getFile(d, 'sent'))!
    assert.equal(sent.attachedAt, t0 + 5, 'attached by the first message that carries it')
    assert.equal((await s.getFile(d, 'unsent'))!.attachedAt, null)

    const cutoff = t0 + DAY - 1 // 'unsent' and 'sent' are older than a day, 'recent' is not
    assert.deepEqual((await s.sweepableFiles(cutoff, null, 100)).map((f) => f.id), ['unsent'])
    assert.equal(await s.deleteFile(d, 'sent', cutoff), false, 'a file a message carries is never deleted')
    assert.equal(await s.deleteFile(d, 'recent', cutoff), false, 'a recent upload waits for its sender')
    assert.equal(await s.deleteFile(d, 'unsent', cutoff), true)
    assert.equal(await s.getFile(d, 'unsent'), null)

    await factory.deleteMessages(s, d)
    assert.deepEqual((await s.sweepableFiles(cutoff, null, 100)).map((f) => f.id), ['sent'], 'its messages are gone: nobody carries it')
    assert.equal(await s.deleteFile(d, 'sent', cutoff), true)
    assert.deepEqual((await s.sweepableFiles(t0 + 2 * DAY, null, 100)).map((f) => f.id), ['recent'])
  })

  test(`${name}: the sweep pages through files by key`, async (t) => {
    const s = await fresh(t)
    const a = await withDomain(s, 'a')
    const b = await withDomain(s, 'b')
    for (const id of ['k3', 'k1', 'k2']) {
      await s.createFile(file(a, id, 1))
      await s.createFile(file(b, id, 1))
    }
    const seen: string[] = []
    let after: { domainId: string, id: string } | null = null
    for (;;) {
      const page = await s.sweepableFiles(10, after, 2)
      if (page.length === 0) break
      seen.push(...page.map((f) => `${f.domainId}/${f.id}`))
      after = page.at(-1)!
    }
    assert.deepEqual(seen, ['a/k1', 'a/k2', 'a/k3', 'b/k1', 'b/k2', 'b/k3'])
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

  // --- web push (SPEC §10.1) ---

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
