// The browser client's and widget's pure decisions (client/logic.ts, widget/i18n.ts,
// widget/record-type.ts), with literal tables.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { backoffMs, claimsOf, matchPending, RECONNECT_MAX_MS } from '../client/logic.ts'
import { pickLang } from '../widget/i18n.ts'
import { recordType } from '../widget/record-type.ts'

test('reconnect waits grow, are capped, and are spread over the upper half of each step', () => {
  const table: Array<[attempt: number, random: number, ms: number]> = [
    [0, 0, 250], [0, 0.999, 500], [1, 0, 500], [1, 0.5, 750], [3, 0, 2000], [5, 1, 16_000],
    [6, 0, 15_000], [6, 1, 30_000], [50, 0.5, 22_500]
  ]
  for (const [attempt, random, ms] of table) assert.equal(backoffMs(attempt, random), ms, `attempt ${attempt}, random ${random}`)
  // Two clients whose random draws differ come back at different times.
  assert.notEqual(backoffMs(4, 0.1), backoffMs(4, 0.9))
  assert.ok(backoffMs(1000, 0.999) <= RECONNECT_MAX_MS)
})

test('the claims of a token are read from its payload (base64url, unpadded)', () => {
  const payload = Buffer.from(JSON.stringify({ sub: '42', aud: 'acme', exp: 1_900_000_000, name: 'Zoë ~?' })).toString('base64url')
  assert.deepEqual(claimsOf(`h.${payload}.s`), { sub: '42', aud: 'acme', exp: 1_900_000_000, name: 'Zoë ~?' })
  assert.throws(() => claimsOf('not-a-jwt'))
  assert.throws(() => claimsOf(`h.${Buffer.from('{"sub":42}').toString('base64url')}.s`))
})

test('a stored message settles the unsettled send with the same recipient and content', () => {
  const body = (to: number, message: string, type = 0) => ({ to_userid: to, message, type, p1: '', p2: '', p3: '' })
  const event = (to: number, message: string, type = 0) => ({ to_userid: to, message: { message, type, p1: '', p2: '', p3: '' } })
  const sends = [body(3, 'hi'), body(4, 'hi'), body(4, 'hi', 1)]
  assert.equal(matchPending(sends, event(4, 'hi')), 1)
  assert.equal(matchPending(sends, event(4, 'hi', 1)), 2)
  assert.equal(matchPending(sends, event(3, 'hi!')), -1)
  assert.equal(matchPending([], event(3, 'hi')), -1)
})

test('the widget speaks data-lang, else the page language, else English', () => {
  const table: Array<[string | null, string | null, string]> = [
    ['fr', 'ar', 'fr'], [null, 'ar-EG', 'ar'], ['de', 'FR', 'fr'], [null, null, 'en'], ['', 'de', 'en']
  ]
  for (const [attr, page, want] of table) assert.equal(pickLang(attr, page), want, `${attr} / ${page}`)
})

test('voice records prefer MP4 (Safari plays it), then WebM/Opus', () => {
  assert.equal(recordType((t) => t.startsWith('audio/mp4')), 'audio/mp4;codecs=mp4a.40.2')
  assert.equal(recordType((t) => t.startsWith('audio/webm')), 'audio/webm;codecs=opus')
  assert.equal(recordType(() => false), '')
})
