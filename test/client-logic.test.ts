// The browser client's and widget's pure decisions (client/logic.ts, client/mqtt-codec.ts,
// widget/i18n.ts, widget/record-type.ts, widget/unread.ts), with literal tables.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { backoffMs, claimsOf, matchPending, RECONNECT_MAX_MS } from '../client/logic.ts'
import { connectPacket, DISCONNECT, encodeLength, type Incoming, packetReader, PINGREQ, pubackPacket, publishPacket, subscribePacket } from '../client/mqtt-codec.ts'
import { pickLang } from '../widget/i18n.ts'
import { recordType } from '../widget/record-type.ts'
import { unreadCounts } from '../widget/unread.ts'

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

test('the MQTT packets the browser client sends are the bytes of MQTT 3.1.1', () => {
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
  const table: Array<[what: string, bytes: Uint8Array, expected: string]> = [
    // CONNECT: "MQTT", level 4, flags user+password+clean, keep-alive 30, client id, user, password
    ['connect', connectPacket({ clientId: 'c', username: 'd/2', password: 'pw', keepAlive: 30 }),
      '1016' + '00044d515454' + '04' + 'c2' + '001e' + '000163' + '0003642f32' + '00027077'],
    // SUBSCRIBE: packet id 7, two topics at QoS 1
    ['subscribe', subscribePacket(7, ['a/b', 'c']), '820c' + '0007' + '0003612f62' + '01' + '000163' + '01'],
    // PUBLISH QoS 1: topic, packet id 258, UTF-8 payload
    ['publish', publishPacket(258, 't', 'é'), '3207' + '000174' + '0102' + 'c3a9'],
    ['puback', pubackPacket(65535), '4002ffff'],
    ['pingreq', PINGREQ, 'c000'],
    ['disconnect', DISCONNECT, 'e000']
  ]
  for (const [what, bytes, expected] of table) assert.equal(hex(bytes), expected, what)
  // the remaining length takes more bytes past 127, 16,383 and 2,097,151 (§2.2.3)
  const lengths: Array<[number, number[]]> = [[0, [0]], [127, [0x7f]], [128, [0x80, 1]], [16_383, [0xff, 0x7f]], [16_384, [0x80, 0x80, 1]], [2_097_152, [0x80, 0x80, 0x80, 1]]]
  for (const [n, bytes] of lengths) assert.deepEqual(encodeLength(n), bytes, String(n))
  // a long message: its length header and body agree
  const big = publishPacket(1, 'chat/d/2/send', 'x'.repeat(70_000))
  assert.deepEqual([...big.subarray(1, 4)], encodeLength(70_000 + 2 + 13 + 2))
})

test('the packets the server sends are read whole, however the stream is cut', () => {
  const h = (s: string) => new Uint8Array(Buffer.from(s.replace(/ /g, ''), 'hex'))
  const stream = h(
    '2002 0000' + // CONNACK accepted
    '9005 0001 01 01 80' + // SUBACK id 1: granted, granted, refused
    '3309 0003 612f62 0005 6869' + // PUBLISH QoS 1 retained "a/b", id 5, "hi"
    '3005 0001 78 6f6b' + // PUBLISH QoS 0 "x", "ok"
    '4002 0009' + // PUBACK id 9
    'd000' + // PINGRESP
    '2002 0005' // CONNACK refused: not authorized
  )
  const expected = [
    { type: 'connack', returnCode: 0 },
    { type: 'suback', id: 1, granted: [1, 1, 0x80] },
    { type: 'publish', topic: 'a/b', qos: 1, id: 5, retain: true, payload: 'hi' },
    { type: 'publish', topic: 'x', qos: 0, id: null, retain: false, payload: 'ok' },
    { type: 'puback', id: 9 },
    { type: 'pingresp' },
    { type: 'connack', returnCode: 5 }
  ]
  const plain = (ps: Incoming[]) => ps.map((p) => p.type === 'publish' ? { ...p, payload: Buffer.from(p.payload).toString() } : p)
  // whole; one byte at a time (aedes over WebSocket sends a packet in several frames); in cuts of 3 and 7
  for (const size of [stream.length, 1, 3, 7]) {
    const read = packetReader()
    const got: Incoming[] = []
    for (let i = 0; i < stream.length; i += size) got.push(...read(stream.subarray(i, i + size)))
    assert.deepEqual(plain(got), expected, `in chunks of ${size}`)
  }
  // a remaining length of more than four bytes is refused, not waited on
  assert.throws(() => packetReader()(h('30 ffffffff7f')), /malformed/)
})

test('an unread message is counted once, whichever comes first: the server\'s answer or the message', () => {
  // Steps on peer 3: ['ask', name] takes a ticket, ['answer', name, unread, lastId] applies the
  // answer asked for under that name, ['live', id], ['read', upTo]; then the count.
  type Step = ['ask', string] | ['answer', string, number, number] | ['live', number] | ['read', number]
  const table: Array<[what: string, steps: Step[], count: number]> = [
    ['the answer alone', [['ask', 'a'], ['answer', 'a', 2, 10]], 2],
    ['live messages alone', [['live', 5], ['live', 6]], 2],
    ['the same message live twice', [['live', 5], ['live', 5]], 1],
    ['the answer, then the catch-up of messages it counts', [['ask', 'a'], ['answer', 'a', 3, 12], ['live', 10], ['live', 11], ['live', 12]], 3],
    ['messages it counts, then the answer', [['live', 10], ['live', 11], ['ask', 'a'], ['answer', 'a', 2, 11]], 2],
    ['a message after the answer was asked, before it came', [['ask', 'a'], ['live', 13], ['answer', 'a', 3, 12]], 4],
    ['an older answer after a newer one', [['ask', 'a'], ['ask', 'b'], ['answer', 'b', 4, 13], ['answer', 'a', 3, 12]], 4],
    ['an older answer with the same last message', [['ask', 'a'], ['ask', 'b'], ['answer', 'b', 0, 12], ['answer', 'a', 3, 12]], 0],
    ['read on screen, then an answer asked before', [['ask', 'a'], ['live', 12], ['read', 12], ['answer', 'a', 3, 12]], 0],
    ['read on screen, then an answer asked after', [['live', 12], ['read', 12], ['ask', 'a'], ['answer', 'a', 0, 12]], 0],
    ['read, then a late catch-up of a message read', [['read', 12], ['live', 11]], 0],
    ['read, then a new message', [['read', 12], ['live', 14]], 1],
    ['another tab read some of them', [['live', 10], ['live', 11], ['live', 12], ['ask', 'a'], ['answer', 'a', 1, 12]], 1]
  ]
  for (const [what, steps, count] of table) {
    const u = unreadCounts()
    const tickets = new Map<string, number>()
    for (const s of steps) {
      if (s[0] === 'ask') tickets.set(s[1], u.ask())
      else if (s[0] === 'answer') u.answer(tickets.get(s[1])!, 3, s[2], s[3])
      else if (s[0] === 'live') u.live(3, s[1])
      else u.read(3, s[1])
    }
    assert.equal(u.of(3), count, what)
    assert.equal(u.total(), count, what)
  }
  // Peers are counted apart, and the total is their sum.
  const u = unreadCounts()
  u.live(3, 10)
  u.live(4, 11)
  u.live(4, 12)
  u.read(3, 10)
  assert.deepEqual([u.of(3), u.of(4), u.of(5), u.total()], [0, 2, 0, 2])
})
