// The pure parts of web push (SPEC §10.1), as tables: what a push says for each message type,
// what a push service's answer means, and the VAPID settings.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import webpush from 'web-push'
import { loadConfig } from '../src/config.ts'
import { SetupError } from '../src/errors.ts'
import { BODY_MAX_CHARS, bodyFor, draftFor, payloadFor } from '../src/push/payload.ts'
import { defaultSubject } from '../src/push/vapid.ts'
import { pushOutcome } from '../src/push/worker.ts'

test('a push says the text, or what the message is', () => {
  const table: Array<[number, string, string]> = [
    [0, 'ok', 'ok'],
    [1, 'https://chat.test/stickers/heart.svg', 'Sticker'],
    [2, 'https://chat.test/files/acme/x', 'Picture'],
    [3, 'https://chat.test/files/acme/y', 'Voice message'],
    [4, 'https://chat.test/files/acme/z', 'Picture'],
    [5, 'missed', 'Call']
  ]
  for (const [type, message, body] of table) assert.equal(bodyFor(type, message), body, `type ${type}`)
  const long = bodyFor(0, '😀'.repeat(4096))
  assert.equal([...long].length, BODY_MAX_CHARS)
  assert.ok(long.endsWith('…'))
  assert.ok(Buffer.byteLength(long) < 3000, 'fits a push with room to spare')
})

test('the payload: the sender\'s name (or how the widget names a user without one), the text, the conversation', () => {
  const draft = draftFor('acme', { from_userid: 2, message: { id: 138946, message: 'ok', type: 0 } })
  assert.deepEqual(payloadFor(draft, 'Ada L.'), { title: 'Ada L.', body: 'ok', domain: 'acme', peer: 2, id: 138946 })
  assert.deepEqual(Object.keys(payloadFor(draft, null)), ['title', 'body', 'domain', 'peer', 'id'])
  assert.equal(payloadFor(draft, null).title, 'User 2')
  assert.equal(payloadFor(draft, '  ').title, 'User 2')
})

test('a push service\'s answer: 2xx sent, 404 and 410 gone, anything else tried again', () => {
  const table: Array<[number | null, string]> = [
    [201, 'sent'], [200, 'sent'], [202, 'sent'], [404, 'gone'], [410, 'gone'],
    [400, 'retry'], [403, 'retry'], [413, 'retry'], [429, 'retry'], [500, 'retry'], [503, 'retry'], [301, 'retry'], [null, 'retry']
  ]
  for (const [status, outcome] of table) assert.equal(pushOutcome(status), outcome, String(status))
})

test('VAPID settings: all three or none, keys of one pair, a mailto: or https: subject', () => {
  const pair = webpush.generateVAPIDKeys()
  const other = webpush.generateVAPIDKeys()
  const env = (v: Record<string, string>) => ({ MQCHAT_DATA_DIR: '/tmp/x', ...v })
  assert.equal(loadConfig(env({})).vapid, null)
  assert.deepEqual(loadConfig(env({ MQCHAT_VAPID_PUBLIC_KEY: pair.publicKey, MQCHAT_VAPID_PRIVATE_KEY: pair.privateKey, MQCHAT_VAPID_SUBJECT: 'mailto:ops@example.com' })).vapid,
    { publicKey: pair.publicKey, privateKey: pair.privateKey, subject: 'mailto:ops@example.com' })
  const problems = (v: Record<string, string>): string[] => {
    try {
      loadConfig(env(v))
    } catch (err) {
      if (err instanceof SetupError) return err.problems
      throw err
    }
    return []
  }
  assert.match(problems({ MQCHAT_VAPID_PUBLIC_KEY: pair.publicKey }).join(), /go together/)
  assert.match(problems({ MQCHAT_VAPID_SUBJECT: 'mailto:ops@example.com' }).join(), /go together/)
  assert.match(problems({ MQCHAT_VAPID_PUBLIC_KEY: pair.publicKey, MQCHAT_VAPID_PRIVATE_KEY: other.privateKey, MQCHAT_VAPID_SUBJECT: 'mailto:a@b.c' }).join(), /not the private key/)
  assert.match(problems({ MQCHAT_VAPID_PUBLIC_KEY: 'abc', MQCHAT_VAPID_PRIVATE_KEY: pair.privateKey, MQCHAT_VAPID_SUBJECT: 'mailto:a@b.c' }).join(), /MQCHAT_VAPID_PUBLIC_KEY must be/)
  assert.match(problems({ MQCHAT_VAPID_PUBLIC_KEY: pair.publicKey, MQCHAT_VAPID_PRIVATE_KEY: 'abc', MQCHAT_VAPID_SUBJECT: 'mailto:a@b.c' }).join(), /MQCHAT_VAPID_PRIVATE_KEY must be/)
  assert.match(problems({ MQCHAT_VAPID_PUBLIC_KEY: pair.publicKey, MQCHAT_VAPID_PRIVATE_KEY: pair.privateKey, MQCHAT_VAPID_SUBJECT: 'http://example.com' }).join(), /MQCHAT_VAPID_SUBJECT must be/)
  assert.match(problems({ MQCHAT_PUSH_RETRY_DELAYS: 'soon' }).join(), /MQCHAT_PUSH_RETRY_DELAYS/)
  // a generated pair's subject
  assert.equal(defaultSubject('https://chat.example.com'), 'https://chat.example.com')
  assert.equal(defaultSubject('http://localhost:8080'), 'mailto:mqchat@localhost')
  assert.equal(defaultSubject(null), 'mailto:mqchat@localhost')
  assert.equal(defaultSubject('https://localhost:8443'), 'mailto:mqchat@localhost', 'web-push would warn on every push')
})
