// SPEC §4.4: "Nothing accepted is lost across a crash or restart". mqchat as a real process
// is killed with SIGKILL while hundreds of callbacks are pending and some are in flight,
// then started again on the same data: every event it accepted is called back at least
// once, and each sender's events still reach the receiver in order.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { processApi, run, tempDir } from './helpers/process.ts'
import type { RestAnswer } from './helpers/rest.ts'
import { answer, receiver, type Received } from './helpers/receiver.ts'
import { waitFor } from './helpers/wait.ts'

const KEY = 'durability-test-operator-key-42'
const SENDERS = 20
const PER_SENDER = 30
/** The receiver is slow at first, so that the outbox fills up behind it. */
const SLOW_MS = 100
/** SIGKILL once this many requests have arrived (the rest are pending or in flight). */
const KILL_AFTER = 120

const api = (port: number, method: string, p: string, body?: unknown, key = KEY): Promise<RestAnswer> =>
  processApi(port, KEY)(method, p, body, key)

test('after SIGKILL with hundreds of callbacks pending, a restart delivers every accepted event, in order per sender', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t)
  const rx = await receiver(t)
  let slow = true
  let seen = 0
  rx.respond = async (req, res) => {
    // Some first attempts fail with 503, so retries are pending at the crash too.
    const firstTry = rx.requests.filter((r) => r.json?.message?.id === req.json?.message?.id).length === 1
    if (slow) await new Promise((resolve) => setTimeout(resolve, SLOW_MS))
    seen++
    if (slow && firstTry && req.json?.message?.id % 17 === 0) return answer(503, 'busy')(req, res)
    return answer(200, 'ok')(req, res)
  }
  const env = {
    MQCHAT_DATA_DIR: dir,
    MQCHAT_ADMIN_KEY: KEY,
    MQCHAT_CALLBACK_ALLOW_PRIVATE: '1',
    MQCHAT_CALLBACK_RETRY_DELAYS: '200ms,200ms,200ms,200ms,200ms,200ms,200ms,200ms,200ms,200ms'
  }
  const first = run(t, env)
  const { httpPort } = await first.ready
  const d = (await api(httpPort, 'POST', '/api/v1/domains', { id: 'acme', name: 'Acme' })).body
  const put = await api(httpPort, 'PUT', '/api/v1/domains/acme/callbacks/messages', { url: rx.url, enabled: true }, d.apiKey)
  assert.equal(put.status, 200)

  // 20 senders (the customer's server, through the API) send 30 messages each, as fast as
  // they are answered, and keep sending until the server dies. Only a 201 counts as accepted.
  const accepted = new Map<number, number[]>() // sender → message ids, in the order accepted
  let dead = false
  const sender = async (from: number): Promise<void> => {
    const ids: number[] = []
    accepted.set(from, ids)
    for (let i = 0; i < PER_SENDER && !dead; i++) {
      try {
        const r = await api(httpPort, 'POST', '/api/v1/domains/acme/messages', { from_userid: from, to_userid: 9999, message: `m${i}`, type: 0 }, d.apiKey)
        if (r.status === 201) ids.push(r.body.message.id)
      } catch {
        // the connection died with the server: this one was not accepted (or we cannot know)
      }
    }
  }
  const sending = Promise.all(Array.from({ length: SENDERS }, (_, i) => sender(1000 + i)))

  // The crash comes once deliveries are under way and hundreds are accepted and pending,
  // however fast this machine's disk takes the sends and the receiver the callbacks.
  const acceptedSoFar = (): number => [...accepted.values()].reduce((n, ids) => n + ids.length, 0)
  let pendingAtKill = 0
  await waitFor(async () => {
    if (rx.requests.length < KILL_AFTER || acceptedSoFar() < 300) return false
    pendingAtKill = (await api(httpPort, 'GET', '/api/v1/domains/acme/callbacks/messages', undefined, d.apiKey)).body.pending
    return pendingAtKill >= 200
  }, `${KILL_AFTER} requests at the receiver, 300 accepted and 200 pending`, 30_000)
  first.child.kill('SIGKILL')
  dead = true
  assert.equal(await first.exited, 'SIGKILL')
  await sending
  const all = [...accepted.values()].flat()
  assert.ok(all.length >= 300, `hundreds accepted (${all.length})`)
  assert.ok(pendingAtKill >= 200, `hundreds pending at the crash (${pendingAtKill})`)
  const seenBeforeRestart = seen

  // Same data, a new process; the receiver is now fast and answers 200.
  slow = false
  const second = run(t, env)
  const ports = await second.ready
  await waitFor(() => all.every((id) => rx.requests.some((r) => r.json?.message?.id === id)), 'every accepted message at the receiver', 20_000)
  await waitFor(async () => (await api(ports.httpPort, 'GET', '/api/v1/domains/acme/callbacks/messages', undefined, d.apiKey)).body.pending === 0, 'nothing pending', 10_000)
  const cb = (await api(ports.httpPort, 'GET', '/api/v1/domains/acme/callbacks/messages', undefined, d.apiKey)).body
  assert.equal(cb.enabled, true, `still enabled (${cb.disabledReason})`)
  assert.ok(rx.requests.length > seenBeforeRestart, 'the second process delivered the rest')

  // Order per sender: every request for a sender carries an id no lower than the one before
  // it. A repeat is only ever the event just sent again (at least once: a delivery whose
  // outcome the crash lost, or a 503 retried), never an older one after a newer.
  const bySender = new Map<number, Received[]>()
  for (const r of rx.requests) {
    const from = r.json.from_userid as number
    if (!bySender.has(from)) bySender.set(from, [])
    bySender.get(from)!.push(r)
  }
  for (const [from, ids] of accepted) {
    const got = (bySender.get(from) ?? []).map((r) => r.json.message.id as number)
    for (let i = 1; i < got.length; i++) {
      assert.ok(got[i]! >= got[i - 1]!, `sender ${from}: ${got[i]} arrived after ${got[i - 1]} (${got.join(',')})`)
    }
    const first = [...new Set(got)]
    // Everything it sent that was accepted, and maybe the one in flight at the crash (its
    // 201 was lost with the connection but the commit was made): nothing else.
    assert.deepEqual(first.slice(0, ids.length), ids, `sender ${from}: first sightings in order`)
    assert.ok(first.length - ids.length <= 1, `sender ${from}: at most one event whose answer the crash lost`)
  }
  // A webhook-id is the event's: the same on every repeat, different between events.
  const idOf = new Map<number, string>()
  for (const r of rx.requests) {
    const known = idOf.get(r.json.message.id)
    if (known === undefined) idOf.set(r.json.message.id, r.headers['webhook-id'] as string)
    else assert.equal(r.headers['webhook-id'], known)
  }
  assert.equal(new Set(idOf.values()).size, idOf.size)
  t.diagnostic(`accepted ${all.length}, pending at the crash ${pendingAtKill}, requests ${rx.requests.length} (${rx.requests.length - idOf.size} repeats)`)

  second.child.kill('SIGTERM')
  assert.equal(await second.exited, 0)
})
