// SPEC §4.4: "a slow receiver delays only its own domain". Two customers whose receivers live
// on the same host and port (a shared webhook relay, a platform hosting both endpoints) are
// still two domains: one's slow receiver must not hold up the other's deliveries.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { answer, receiver } from './helpers/receiver.ts'
import { startServer } from './helpers/server.ts'
import { waitFor } from './helpers/wait.ts'

const SLOW_MS = 2000

test('a slow receiver of one domain does not delay another domain whose receiver is on the same origin', async (t) => {
  const s = await startServer(t, {}, { MQCHAT_CALLBACK_ALLOW_PRIVATE: '1' })
  const a = await s.domain()
  const b = await s.domain()
  const rx = await receiver(t, '/')
  rx.respond = async (req, res) => {
    if (req.path.startsWith('/slow/')) await new Promise((resolve) => setTimeout(resolve, SLOW_MS))
    answer(200, 'ok')(req, res)
  }
  const origin = rx.url.replace(/\/$/, '')
  const put = (d: { id: string, apiKey: string }, body: unknown): Promise<{ status: number, body: any }> => s.api('PUT', `/api/v1/domains/${d.id}/callbacks/messages`, body, d.apiKey)
  assert.equal((await put(a, { url: `${origin}/slow/a`, enabled: true })).status, 200)
  assert.equal((await put(b, { url: `${origin}/b`, enabled: true })).status, 200)

  // A: one event for each of 200 users, so it has its whole share of deliveries in flight.
  await Promise.all(Array.from({ length: 200 }, (_, i) =>
    s.api('POST', `/api/v1/domains/${a.id}/messages`, { from_userid: i + 1, to_userid: 9, message: 'a', type: 0 }, a.apiKey)))
  await waitFor(() => rx.requests.filter((r) => r.path === '/slow/a').length >= 64, 'A to have 64 deliveries in flight')

  assert.equal((await s.api('POST', `/api/v1/domains/${b.id}/messages`, { from_userid: 1, to_userid: 2, message: 'b', type: 0 }, b.apiKey)).status, 201)
  const arrived = await waitFor(() => rx.requests.find((r) => r.path === '/b'), "B's callback", SLOW_MS * 3)
  const logs = await s.api('GET', `/api/v1/domains/${b.id}/callbacks/messages/logs`, undefined, b.apiKey)
  assert.equal((await put(a, { enabled: false })).status, 200)
  // An order, not a time, so that it holds on a busy machine: held behind A's deliveries, B's
  // could go out only once one of them had its answer, SLOW_MS after it arrived.
  const firstAnswerToA = Math.min(...rx.requests.filter((r) => r.path === '/slow/a').map((r) => r.at)) + SLOW_MS
  assert.ok(arrived.at < firstAnswerToA, `B's event arrived ${arrived.at - firstAnswerToA} ms after A's first slow delivery was answered: held behind A's slow deliveries on the shared origin; ` +
    `B's attempt was logged as taking ${logs.body.items[0]?.durationMs} ms`)
})
