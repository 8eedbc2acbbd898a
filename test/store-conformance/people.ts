// The store conformance suite, people: profiles, conversations and read markers, blocks, friends, erasure.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { eventFor, msg, withDomain, freshStore, type StoreFactory } from './helpers.ts'

export function peopleConformance (name: string, factory: StoreFactory): void {
  const fresh = freshStore(factory)

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
}
