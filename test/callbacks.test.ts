import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Webhook } from 'standardwebhooks'
import { receiver } from './helpers/receiver.ts'
import { startServer } from './helpers/server.ts'
import { waitFor } from './helpers/wait.ts'

const PRIVATE_OK = { MQCHAT_CALLBACK_ALLOW_PRIVATE: '1' }

test('callbacks are off by default, and once on every message arrives signed, with the documented body', async (t) => {
  const s = await startServer(t, {}, PRIVATE_OK)
  const d = await s.domain()
  const rx = await receiver(t)
  const path = `/api/v1/domains/${d.id}/callbacks/messages`
  const before = await s.api('GET', path, undefined, d.apiKey)
  assert.equal(before.status, 200)
  assert.deepEqual({ ...before.body, signingSecret: 'x' }, { kind: 'messages', url: null, enabled: false, disabledReason: null, disabledAt: null, signingSecret: 'x', pending: 0, lastSuccessAt: null, lastFailureAt: null })
  assert.match(before.body.signingSecret, /^whsec_/)

  const sent0 = await s.api('POST', `/api/v1/domains/${d.id}/messages`, { from_userid: 2, to_userid: 3601, message: 'before', type: 0 }, d.apiKey)
  assert.equal(sent0.status, 201)
  const put = await s.api('PUT', path, { url: rx.url, enabled: true }, d.apiKey)
  assert.equal(put.status, 200)
  assert.equal(put.body.enabled, true)
  const sent = await s.api('POST', `/api/v1/domains/${d.id}/messages`, { from_userid: 2, to_userid: 3601, message: 'ok', type: 0 }, d.apiKey)
  const [req] = await rx.count(1)
  assert.equal(req!.method, 'POST')
  assert.equal(req!.headers['content-type'], 'application/json')
  assert.match(req!.headers['user-agent']!, /^mqchat\/\d+\.\d+\.\d+$/)
  assert.equal(req!.body, JSON.stringify(sent.body), 'exactly the message event, nothing added')
  const wh = new Webhook(before.body.signingSecret)
  assert.deepEqual(wh.verify(req!.body, req!.headers as Record<string, string>), sent.body)
  await waitFor(async () => (await s.api('GET', path, undefined, d.apiKey)).body.lastSuccessAt !== null, 'lastSuccessAt')
  assert.equal(rx.requests.length, 1, 'the message from before the callback was on is not sent')
})
