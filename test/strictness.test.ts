// Strictness where the contract was loose (issue 11): one exact form for what clients send,
// bounded and secret-free logs, the protocol's own rules on strings and SUBACKs, and the
// contract's error shape everywhere.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { signToken, verifyToken } from '../src/chat/tokens.ts'
import { connackCode } from './helpers/mqtt.ts'
import { startServer } from './helpers/server.ts'

const NOT_AUTHORIZED = 5

/** Changes the last character of a base64url segment within its spare low bits. */
function spareBits (segment: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const last = alphabet.indexOf(segment.at(-1)!)
  return segment.slice(0, -1) + alphabet[last ^ 1]
}

test('tokens: only the exact string is accepted; appended characters or re-encoded bits are refused', () => {
  const now = 1_700_000_000
  const good = signToken('s3cret', { sub: '42', aud: 'acme', exp: now + 60 })
  assert.deepEqual(verifyToken(good, 's3cret', 'acme', 42, now), { ok: true })
  const [h, p, sig] = good.split('.') as [string, string, string]
  assert.equal(sig.length % 4, 3, 'a 32-byte signature leaves 2 spare bits in its last character')
  const variants: Array<[string, string]> = [
    ['a space appended', `${good} `],
    ['"!!**" appended', `${good}!!**`],
    ['padding appended', `${good}=`],
    ['a newline appended', `${good}\n`],
    ['a space inside the claims', `${h}.${p.slice(0, 4)} ${p.slice(4)}.${sig}`],
    ['the signature\'s spare bits changed', `${h}.${p}.${spareBits(sig)}`],
    ['standard base64 characters', `${h}.${p}.${sig.replaceAll('-', '+').replaceAll('_', '/')}x`]
  ]
  for (const [name, token] of variants) {
    if (token === good) continue
    const r = verifyToken(token, 's3cret', 'acme', 42, now)
    assert.equal(r.ok, false, `${name} must be refused`)
  }
})

test('a CONNECT whose token has a character appended is refused with "not authorized"', async (t) => {
  const s = await startServer(t)
  const d = await s.domain()
  const token = await s.token(d, 42)
  for (const extra of [' ', '!!**']) {
    assert.equal(await connackCode(s.mqttUrl, { username: `${d.id}/42`, password: token + extra }), NOT_AUTHORIZED, JSON.stringify(extra))
  }
  assert.equal(await connackCode(s.mqttUrl, { username: `${d.id}/42`, password: token }), 0)
})
