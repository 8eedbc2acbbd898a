// Retention (MQCHAT_RETENTION_DAYS, a domain's retentionDays) and erasure of a user (SPEC §1, §2).
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { test } from 'node:test'
import { connackCode, closedBy } from './helpers/mqtt.ts'
import { Inbox, startServer, type TestServer } from './helpers/server.ts'

const DAY_MS = 86_400_000

/** A message written as if sent `daysAgo` days ago (the store is the only way to backdate). */
async function oldMessage (s: TestServer, domainId: string, from: number, to: number, text: string, daysAgo: number): Promise<number> {
  const row = await s.app.store.appendMessage({ domainId, fromUserid: from, toUserid: to, type: 0, message: text, p1: '', p2: '', p3: '', at: Date.now() - daysAgo * DAY_MS },
    () => ({ webhookId: `msg_${randomUUID()}`, body: '{}' }))
  return row.id
}

test('messages older than the domain\'s retentionDays, or else MQCHAT_RETENTION_DAYS, are deleted; conversations and unread counts follow', async (t) => {
  const s = await startServer(t, {}, { MQCHAT_RETENTION_DAYS: '30' })
  const byServer = await s.domain()
  const own = await s.domain()
  const r = await s.api('PATCH', `/api/v1/domains/${own.id}`, { retentionDays: 7 }, own.apiKey)
  assert.equal(r.status, 200)
  for (const d of [byServer, own]) {
    await oldMessage(s, d.id, 1, 2, '60 days old', 60)
    await oldMessage(s, d.id, 3, 1, '10 days old', 10)
    await oldMessage(s, d.id, 3, 1, '2 days old', 2)
    await s.api('POST', `/api/v1/domains/${d.id}/messages`, { from_userid: 3, to_userid: 1, message: 'now', type: 0 }, d.apiKey)
  }
  const deleted = await s.app.retention.run()
  assert.equal(deleted, 3)
  const history = async (d: { id: string, apiKey: string }) =>
    (await s.api('GET', `/api/v1/domains/${d.id}/messages?userid=1`, undefined, d.apiKey)).body.messages.map((m: any) => m.message.message)
  assert.deepEqual(await history(byServer), ['now', '2 days old', '10 days old'])
  assert.deepEqual(await history(own), ['now', '2 days old'])
  const convs = async (d: { id: string, apiKey: string }) =>
    (await s.api('GET', `/api/v1/domains/${d.id}/users/1/conversations`, undefined, d.apiKey)).body.conversations.map((c: any) => [c.peer.userid, c.unread])
  assert.deepEqual(await convs(byServer), [[3, 3]])
  assert.deepEqual(await convs(own), [[3, 2]])
  assert.equal(await s.app.retention.run(), 0, 'a second pass finds nothing')
})

test('with no retention set anywhere, messages are kept forever', async (t) => {
  const s = await startServer(t)
  const d = await s.domain()
  await oldMessage(s, d.id, 1, 2, 'ten years old', 3650)
  assert.equal(await s.app.retention.run(), 0)
  assert.equal((await s.api('GET', `/api/v1/domains/${d.id}/messages`, undefined, d.apiKey)).body.messages.length, 1)
})

test('erasing a user removes its profile, presence and messages both ways, disconnects it, and its tokens stop working', async (t) => {
  const s = await startServer(t)
  const d = await s.domain()
  const other = await s.domain()
  const base = `/api/v1/domains/${d.id}`
  await s.api('PUT', `${base}/users/3`, { name: 'Bob' }, d.apiKey)
  const bobToken = await s.token(d, 3)
  const alice = await s.connect(d, 2)
  const watch = new Inbox(alice)
  await alice.subscribeAsync(`chat/${d.id}/3/presence`, { qos: 1 })
  const bob = await s.connect(d, 3)
  await watch.next((m) => m.payload.status === 'online', 'bob online')
  for (const [from, to] of [[2, 3], [3, 2], [3, 4], [2, 4]]) {
    await s.api('POST', `${base}/messages`, { from_userid: from, to_userid: to, message: `${from}->${to}`, type: 0 }, d.apiKey)
  }
  await s.api('POST', `/api/v1/domains/${other.id}/messages`, { from_userid: 3, to_userid: 2, message: 'another domain\'s user 3', type: 0 }, other.apiKey)
  // only the domain key may erase
  assert.equal((await s.api('DELETE', `${base}/users/3`, undefined, bobToken)).status, 403)

  const closed = closedBy(bob)
  const del = await s.api('DELETE', `${base}/users/3`, undefined, d.apiKey)
  assert.equal(del.status, 204)
  await closed
  await watch.next((m) => m.payload.status === 'offline', 'bob offline')

  assert.equal((await s.api('GET', `${base}/users/3`, undefined, d.apiKey)).status, 404)
  const users = (await s.api('GET', `${base}/users`, undefined, d.apiKey)).body.users.map((u: any) => u.userid)
  assert.ok(!users.includes(3), JSON.stringify(users))
  const all = (await s.api('GET', `${base}/messages`, undefined, d.apiKey)).body.messages.map((m: any) => m.message.message)
  assert.deepEqual(all, ['2->4'])
  const convs = (await s.api('GET', `${base}/users/2/conversations`, undefined, d.apiKey)).body.conversations.map((c: any) => c.peer.userid)
  assert.deepEqual(convs, [4])
  assert.equal((await s.api('GET', `/api/v1/domains/${other.id}/messages`, undefined, other.apiKey)).body.messages.length, 1)
  // its tokens stop working, on MQTT and on the API
  assert.equal(await connackCode(s.mqttUrl, { username: `${d.id}/3`, password: bobToken }), 5)
  assert.equal((await s.api('GET', `${base}/users/2`, undefined, bobToken)).status, 401)
  // callback events already written stay until their own retention
  const events = (await s.api('GET', `${base}/callbacks/messages/events`, undefined, d.apiKey)).body.items
  assert.equal(events.length, 4)
  // a token minted now is a new user's
  const again = await s.api('POST', `${base}/users/3/token`, {}, d.apiKey)
  assert.equal(await connackCode(s.mqttUrl, { username: `${d.id}/3`, password: again.body.token }), 0)
  assert.equal((await s.api('GET', `${base}/users/3`, undefined, d.apiKey)).body.name, null)
})
