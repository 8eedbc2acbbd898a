// The pure decisions of callback delivery and of the stores, each with a literal table
// (input → expected output), as svix tests `calculate_retry_delay`, `sign_msg` and `is_allowed`.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import Database from 'better-sqlite3'
import { Webhook } from 'standardwebhooks'
import { decide, type AttemptResult, type Outcome } from '../src/callbacks/policy.ts'
import { parseDelays, parseRetryAfter, retryDelay } from '../src/callbacks/retry.ts'
import { sign, signatureHeader } from '../src/callbacks/signing.ts'
import { LEASE_MARGIN_MS, leaseUntil, pushClaimableSql } from '../src/store/lease-rules.ts'
import { moveReadMarker, type MarkerMove } from '../src/store/read-marker.ts'
import { activeSecrets } from '../src/store/secrets.ts'
import { withPgAdmin } from './helpers/pg-redis.ts'

const status = (s: number, retryAfterMs: number | null = null): AttemptResult => ({ status: s, errorCode: null, errorMessage: null, retryAfterMs })
const error = (code: string, message: string | null = null): AttemptResult => ({ status: null, errorCode: code, errorMessage: message, retryAfterMs: null })

test('decide: what each answer of the receiver does (SPEC §4.4)', () => {
  const rows: Array<[AttemptResult, Outcome]> = [
    [status(200), { action: 'delivered' }],
    [status(204), { action: 'delivered' }],
    [status(299), { action: 'delivered' }],
    [status(401), { action: 'disable', reason: 'the receiver answered 401' }],
    [status(403), { action: 'disable', reason: 'the receiver answered 403' }],
    [status(404), { action: 'disable', reason: 'the receiver answered 404' }],
    [status(410), { action: 'disable', reason: 'the receiver answered 410' }],
    [status(408), { action: 'retry', reason: 'the receiver answered 408', retryAfterMs: null }],
    [status(429, 7000), { action: 'retry', reason: 'the receiver answered 429', retryAfterMs: 7000 }],
    [status(500), { action: 'retry', reason: 'the receiver answered 500', retryAfterMs: null }],
    [status(503, 120_000), { action: 'retry', reason: 'the receiver answered 503', retryAfterMs: 120_000 }],
    [status(599), { action: 'retry', reason: 'the receiver answered 599', retryAfterMs: null }],
    [status(301), { action: 'failed', reason: 'the receiver answered 301 (redirects are not followed)' }],
    [status(302), { action: 'failed', reason: 'the receiver answered 302 (redirects are not followed)' }],
    [status(400), { action: 'failed', reason: 'the receiver answered 400' }],
    [status(418), { action: 'failed', reason: 'the receiver answered 418' }],
    [status(100), { action: 'failed', reason: 'the receiver answered 100' }],
    [error('TIMEOUT', 'no answer within 5000 ms'), { action: 'retry', reason: 'no answer in time (no answer within 5000 ms)', retryAfterMs: null }],
    [error('UND_ERR_HEADERS_TIMEOUT'), { action: 'retry', reason: 'no answer in time (UND_ERR_HEADERS_TIMEOUT)', retryAfterMs: null }],
    [error('ETIMEDOUT'), { action: 'retry', reason: 'no answer in time (ETIMEDOUT)', retryAfterMs: null }],
    [error('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:9'), { action: 'disable', reason: 'the receiver is unreachable (connect ECONNREFUSED 127.0.0.1:9)' }],
    [error('ENOTFOUND'), { action: 'disable', reason: 'the receiver is unreachable (ENOTFOUND)' }],
    [error('ECONNRESET'), { action: 'disable', reason: 'the receiver is unreachable (ECONNRESET)' }],
    [error('UND_ERR_SOCKET'), { action: 'disable', reason: 'the receiver is unreachable (UND_ERR_SOCKET)' }],
    [error('FORBIDDEN_TARGET', '10.0.0.1 is not a public address'), { action: 'disable', reason: 'the URL leads to an address that is not allowed (10.0.0.1 is not a public address)' }],
    [error('DEPTH_ZERO_SELF_SIGNED_CERT'), { action: 'disable', reason: 'TLS failed (DEPTH_ZERO_SELF_SIGNED_CERT)' }],
    [error('ERR_TLS_CERT_ALTNAME_INVALID'), { action: 'disable', reason: 'TLS failed (ERR_TLS_CERT_ALTNAME_INVALID)' }],
    [error('CERT_HAS_EXPIRED'), { action: 'disable', reason: 'TLS failed (CERT_HAS_EXPIRED)' }],
    // A temporary DNS failure is ours to retry, not the customer's fault.
    [error('EAI_AGAIN'), { action: 'retry', reason: 'EAI_AGAIN', retryAfterMs: null }],
    [{ status: null, errorCode: null, errorMessage: null, retryAfterMs: null }, { action: 'retry', reason: 'UNKNOWN', retryAfterMs: null }]
  ]
  for (const [input, expected] of rows) assert.deepEqual(decide(input), expected, JSON.stringify(input))
})

test('retryDelay: the step for each attempt, ±20 % jitter, Retry-After honoured up to the longest step', () => {
  const steps = [5_000, 30_000, 120_000, 600_000, 1_800_000]
  // [attempt, Retry-After ms, random(), expected wait in ms (null: no more retries)]
  const rows: Array<[number, number | null, number, number | null]> = [
    [1, null, 0.5, 5_000],
    [1, null, 0, 4_000],
    [1, null, 0.999999, 6_000],
    [2, null, 0.5, 30_000],
    [2, null, 0, 24_000],
    [2, null, 0.75, 33_000],
    [3, null, 0.5, 120_000],
    [4, null, 0.25, 540_000],
    [5, null, 0.5, 1_800_000],
    [5, null, 1, 2_160_000],
    [6, null, 0.5, null],
    [0, null, 0.5, null],
    [-1, null, 0.5, null],
    // Retry-After longer than the step: waited for
    [1, 20_000, 0.5, 20_000],
    // shorter than the step: the step still holds
    [2, 1_000, 0.5, 30_000],
    // longer than the longest step: cut to it, so no event is parked forever
    [1, 99_999_999_000, 0.5, 1_800_000],
    [5, 99_999_999_000, 1, 1_800_000],
    // the last retry is the last, whatever Retry-After says
    [6, 1_000, 0.5, null]
  ]
  for (const [attempt, retryAfterMs, r, expected] of rows) {
    assert.equal(retryDelay(attempt, steps, retryAfterMs, () => r), expected, `attempt ${attempt}, Retry-After ${retryAfterMs}, random ${r}`)
  }
  assert.equal(retryDelay(1, [50, 50, 50], null, () => 0.5), 50, 'short test steps')
  assert.equal(retryDelay(4, [50, 50, 50], null, () => 0.5), null)
  assert.equal(retryDelay(1, [], null, () => 0.5), null, 'no steps: no retry')
})

test('parseRetryAfter: seconds or an HTTP date, in ms from now; anything else is null', () => {
  const now = Date.UTC(2015, 9, 21, 7, 27, 30) // Wed, 21 Oct 2015 07:27:30 GMT
  const rows: Array<[string | undefined, number | null]> = [
    ['120', 120_000],
    ['0', 0],
    [' 5 ', 5_000],
    ['1000000000', 1_000_000_000_000],
    ['99999999999', 1_000_000_000_000],
    ['Wed, 21 Oct 2015 07:28:00 GMT', 30_000],
    ['Wed, 21 Oct 2015 07:37:30 GMT', 600_000],
    // the obsolete forms RFC 9110 §5.6.7 says a recipient must accept
    ['Wednesday, 21-Oct-15 07:28:00 GMT', 30_000],
    ['Wed Oct 21 07:28:00 2015', 30_000],
    // a date already past: no extra wait
    ['Wed, 21 Oct 2015 07:00:00 GMT', 0],
    [undefined, null],
    ['', null],
    ['   ', null],
    ['soon', null],
    ['-1', null],
    ['1.5', null],
    ['2015', 2_015_000],
    ['1e3', null],
    ['Wed, 99 Foo 2015 07:28:00 GMT', null]
  ]
  for (const [value, expected] of rows) assert.equal(parseRetryAfter(value, now), expected, JSON.stringify(value))
})

test('parseDelays: MQCHAT_CALLBACK_RETRY_DELAYS, a list of durations with units', () => {
  const rows: Array<[string, number[] | string]> = [
    ['5s,30s,2m,10m,30m', [5_000, 30_000, 120_000, 600_000, 1_800_000]],
    ['50ms,50ms,50ms', [50, 50, 50]],
    ['1h', [3_600_000]],
    [' 5 s , 2m ', [5_000, 120_000]],
    ['0ms', [0]],
    ['', 'must be a list of durations like 5s,30s,2m,10m,30m'],
    ['5', 'must be a list of durations like 5s,30s,2m,10m,30m'],
    ['5s,,30s', 'must be a list of durations like 5s,30s,2m,10m,30m'],
    ['1.5s', 'must be a list of durations like 5s,30s,2m,10m,30m'],
    ['-5s', 'must be a list of durations like 5s,30s,2m,10m,30m'],
    ['5d', 'must be a list of durations like 5s,30s,2m,10m,30m'],
    [Array(20).fill('1s').join(','), Array(20).fill(1000)],
    [Array(21).fill('1s').join(','), 'must have at most 20 steps']
  ]
  for (const [text, expected] of rows) assert.deepEqual(parseDelays(text), expected, JSON.stringify(text))
})

test('a Standard Webhooks signature: the published example, and what standardwebhooks verifies', () => {
  // The example of the Standard Webhooks specification and of the svix libraries' tests.
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
  const id = 'msg_p5jXN8AQM9LWM0D4loKWxJek'
  const rows: Array<[secret: string, id: string, timestampSec: number, body: string, expected: string]> = [
    [secret, id, 1614265330, '{"test": 2432232314}', 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='],
    // the key is the base64 after the prefix; without the prefix the same key signs the same
    ['MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', id, 1614265330, '{"test": 2432232314}', 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=']
  ]
  for (const [s, i, ts, body, expected] of rows) assert.equal(sign(s, i, ts, body), expected)

  // During a rotation both sign, new first, separated by a space.
  const other = 'whsec_ZGVhZGJlZWZkZWFkYmVlZmRlYWRiZWVmZGVhZGJlZWY='
  const both = signatureHeader([secret, other], id, 1614265330, '{"test": 2432232314}')
  assert.equal(both, `v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= ${sign(other, id, 1614265330, '{"test": 2432232314}')}`)

  // Independently: the standardwebhooks package verifies what we sign now, with either secret.
  const body = '{"userid":1,"status":"online","timestamp":1602511574}'
  const nowSec = Math.floor(Date.now() / 1000)
  const headers = { 'webhook-id': 'msg_1', 'webhook-timestamp': String(nowSec), 'webhook-signature': signatureHeader([secret, other], 'msg_1', nowSec, body) }
  assert.deepEqual(new Webhook(secret).verify(body, headers), JSON.parse(body))
  assert.deepEqual(new Webhook(other).verify(body, headers), JSON.parse(body))
  assert.equal(new Webhook(secret).sign('msg_1', new Date(nowSec * 1000), body), sign(secret, 'msg_1', nowSec, body))
})

test('activeSecrets: the rotated-out secret signs beside the new one until its time is up', () => {
  const now = 1_700_000_000_000
  const rows: Array<[{ signingSecret: string, previousSecret: string | null, previousSecretUntil: number | null }, string[]]> = [
    [{ signingSecret: 'whsec_new', previousSecret: null, previousSecretUntil: null }, ['whsec_new']],
    [{ signingSecret: 'whsec_new', previousSecret: 'whsec_old', previousSecretUntil: now + 1 }, ['whsec_new', 'whsec_old']],
    [{ signingSecret: 'whsec_new', previousSecret: 'whsec_old', previousSecretUntil: now + 86_400_000 }, ['whsec_new', 'whsec_old']],
    [{ signingSecret: 'whsec_new', previousSecret: 'whsec_old', previousSecretUntil: now }, ['whsec_new']],
    [{ signingSecret: 'whsec_new', previousSecret: 'whsec_old', previousSecretUntil: now - 1 }, ['whsec_new']],
    [{ signingSecret: 'whsec_new', previousSecret: 'whsec_old', previousSecretUntil: null }, ['whsec_new']],
    [{ signingSecret: 'whsec_new', previousSecret: null, previousSecretUntil: now + 1000 }, ['whsec_new']]
  ]
  for (const [cb, expected] of rows) assert.deepEqual(activeSecrets(cb, now), expected, JSON.stringify(cb))
})

test('moveReadMarker: a read marker moves forward, up to the last message (SPEC §3), in both stores', () => {
  const conv = (lastId: number, readUpTo: number) => ({ lastId, readUpTo })
  const rows: Array<[{ lastId: number, readUpTo: number } | undefined, number, MarkerMove]> = [
    [undefined, 5, { ok: false, refusal: { ok: false, reason: 'no_conversation', readUpTo: 0, lastId: 0 } }],
    [conv(10, 0), 10, { ok: true, changes: true }],
    [conv(10, 0), 4, { ok: true, changes: true }],
    [conv(10, 4), 4, { ok: true, changes: false }],
    [conv(10, 10), 10, { ok: true, changes: false }],
    [conv(10, 4), 11, { ok: false, refusal: { ok: false, reason: 'beyond_last', readUpTo: 4, lastId: 10 } }],
    [conv(10, 4), 3, { ok: false, refusal: { ok: false, reason: 'backwards', readUpTo: 4, lastId: 10 } }],
    [conv(10, 4), 0, { ok: false, refusal: { ok: false, reason: 'backwards', readUpTo: 4, lastId: 10 } }]
  ]
  for (const [c, upTo, want] of rows) assert.deepEqual(moveReadMarker(c, upTo), want, `${JSON.stringify(c)} up to ${upTo}`)
})

test('leaseUntil: a claim holds for the attempt\'s time limit and a minute more, for the dispatcher and the push worker alike', () => {
  assert.equal(LEASE_MARGIN_MS, 60_000)
  // [claimed at, attempt time limit, held until]
  const rows: Array<[number, number, number]> = [
    [0, 0, 60_000],
    [1000, 5000, 66_000],
    [1_700_000_000_000, 15_000, 1_700_000_075_000]
  ]
  for (const [now, timeout, until] of rows) assert.equal(leaseUntil(now, timeout), until, `${now} + ${timeout}`)
})

test('pushClaimableSql: a push job is claimed once due, unless a lease holds it; a lease ending now still holds, in both stores', async () => {
  // [next_at, locked_until, now, claimable]
  const rows: Array<[number, number | null, number, boolean]> = [
    [1000, null, 999, false],
    [1000, null, 1000, true],
    [1000, null, 5000, true],
    [1000, 5000, 4999, false],
    [1000, 5000, 5000, false],
    [1000, 5000, 5001, true],
    [6000, 5000, 5001, false]
  ]
  const sqlite = new Database(':memory:')
  const claimable = sqlite.prepare(`SELECT (${pushClaimableSql('?')}) AS ok FROM (SELECT ? AS next_at, ? AS locked_until)`)
  for (const [nextAt, lockedUntil, now, want] of rows) {
    // SQLite numbers its ? in the order they are written: the condition's two come first.
    const { ok } = claimable.get(now, now, nextAt, lockedUntil) as { ok: number }
    assert.equal(ok === 1, want, `SQLite: next_at ${nextAt}, locked_until ${lockedUntil}, now ${now}`)
  }
  sqlite.close()
  await withPgAdmin(async (admin) => {
    for (const [nextAt, lockedUntil, now, want] of rows) {
      const r = await admin.query(`SELECT (${pushClaimableSql('$3')}) AS ok FROM (SELECT $1::bigint AS next_at, $2::bigint AS locked_until) j`, [nextAt, lockedUntil, now])
      assert.equal(r.rows[0].ok, want, `PostgreSQL: next_at ${nextAt}, locked_until ${lockedUntil}, now ${now}`)
    }
  })
})
