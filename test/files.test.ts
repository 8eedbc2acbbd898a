// Files (SPEC §8) against a real server: uploads with a user token or the domain key, pictures
// cleaned (upright, no EXIF/GPS) with a thumbnail, records with their length, serving with
// §8's headers and byte ranges, type 2-4 messages that must carry a file of their domain,
// the sweep, the quota, the bad input of issue 10, and the same on an S3-compatible store.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { test, type TestContext } from 'node:test'
import sharp from 'sharp'
import { signToken } from '../src/chat/tokens.ts'
import { callbackApi } from './helpers/callbacks.ts'
import { animation, bombPng, GPS_TAG_LE, m4a, photoWithExif, png, pngWithTextBomb } from './helpers/media.ts'
import { receiver } from './helpers/receiver.ts'
import { startS3 } from './helpers/s3.ts'
import { Inbox, startServer, type TestServer } from './helpers/server.ts'

type Domain = { id: string, apiKey: string, tokenSecret: string }

async function upload (s: TestServer, domainId: string, key: string, body: Buffer | FormData, contentType = 'application/octet-stream') {
  const res = await fetch(`${s.httpUrl}/api/v1/domains/${domainId}/files`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, ...(body instanceof FormData ? {} : { 'content-type': contentType }) },
    body
  })
  return { status: res.status, body: await res.json() as any }
}

async function fetchFile (url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers })
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) }
}

/** The MQTT send of `from` answered on its ack topic. */
async function sendOverMqtt (s: TestServer, d: Domain, from: number, payload: object) {
  const c = await s.connect(d, from)
  const inbox = new Inbox(c)
  await c.subscribeAsync(`chat/${d.id}/${from}/ack`, { qos: 1 })
  const cid = `c-${Math.random()}`
  await c.publishAsync(`chat/${d.id}/${from}/send`, JSON.stringify({ ...payload, cid }), { qos: 1 })
  return (await inbox.next((m) => m.payload.cid === cid, 'the ack')).payload
}

async function photoFlow (t: TestContext, env: Record<string, string> = {}) {
  const s = await startServer(t, {}, { MQCHAT_CALLBACK_ALLOW_PRIVATE: '1', ...env })
  const d = await s.domain()
  const rx = await receiver(t)
  assert.equal((await callbackApi(s, d, 'messages').put({ url: rx.url, enabled: true })).status, 200)

  const original = await photoWithExif()
  const before = await sharp(original).metadata()
  assert.equal(before.orientation, 6)
  assert.ok(before.exif!.includes(GPS_TAG_LE) && original.includes('TestCam'), 'the test photo has EXIF with GPS')

  const token = await s.token(d, 2)
  const up = await upload(s, d.id, token, original, 'image/jpeg')
  assert.equal(up.status, 201, JSON.stringify(up.body))
  assert.deepEqual(Object.keys(up.body).sort(), ['contentType', 'durationMs', 'height', 'id', 'size', 'thumbnailUrl', 'url', 'width'])
  assert.equal(up.body.contentType, 'image/jpeg')
  assert.equal(up.body.width, 200)
  assert.equal(up.body.height, 400)
  assert.equal(up.body.durationMs, null)
  assert.ok(Buffer.from(up.body.id, 'base64url').length >= 16, 'at least 128 random bits')
  assert.equal(up.body.url, `http://localhost:${s.app.httpPort}/files/${d.id}/${up.body.id}`)

  // Sent as a type 2 message over MQTT: the recipient gets the URL, and so does the callback.
  const bob = await s.connect(d, 3)
  const bobIn = new Inbox(bob)
  await bob.subscribeAsync(`chat/${d.id}/3/inbox`, { qos: 1 })
  const ack = await sendOverMqtt(s, d, 2, { to_userid: 3, type: 2, message: up.body.url, p1: 'holiday.jpg' })
  assert.equal(ack.error, undefined, JSON.stringify(ack))
  const delivered = await bobIn.next((m) => m.topic.endsWith('/inbox'), 'the picture message')
  assert.equal(delivered.payload.message.message, up.body.url)
  assert.equal(delivered.payload.message.type, 2)
  const [call] = await rx.count(1)
  const body = JSON.parse(call!.body)
  assert.deepEqual(body, delivered.payload, 'the callback body is the fixed one, with the URL in message')

  // Fetched by whoever holds the URL: upright, red on top, with no EXIF or GPS left.
  const got = await fetchFile(body.message.message)
  assert.equal(got.status, 200)
  assert.equal(got.headers.get('content-type'), 'image/jpeg')
  assert.equal(got.headers.get('x-content-type-options'), 'nosniff')
  assert.equal(got.headers.get('content-security-policy'), 'sandbox')
  assert.match(got.headers.get('content-disposition')!, /^inline; filename="[A-Za-z0-9_-]{22}\.jpg"$/)
  assert.equal(got.bytes.length, up.body.size)
  const after = await sharp(got.bytes).metadata()
  assert.equal(after.exif, undefined, 'EXIF is gone')
  assert.equal(after.orientation, undefined)
  assert.ok(!got.bytes.includes('TestCam') && !got.bytes.includes('Secret Model'))
  assert.deepEqual([after.width, after.height], [200, 400])
  const { data } = await sharp(got.bytes).raw().toBuffer({ resolveWithObject: true })
  const px = (x: number, y: number) => [...data.subarray((y * 200 + x) * 3, (y * 200 + x) * 3 + 3)]
  assert.ok(px(100, 50)[0]! > 200 && px(100, 50)[2]! < 60, `red on top, got ${px(100, 50)}`)
  assert.ok(px(100, 350)[2]! > 200 && px(100, 350)[0]! < 60, `blue below, got ${px(100, 350)}`)

  const thumb = await fetchFile(up.body.thumbnailUrl)
  assert.equal(thumb.status, 200)
  const tm = await sharp(thumb.bytes).metadata()
  assert.equal(tm.format, 'jpeg')
  assert.ok(Math.max(tm.width!, tm.height!) <= 320)
  return { s, d, up }
}

test('a photo uploaded with a user token is sent as type 2; recipient and callback fetch it upright, without EXIF or GPS', async (t) => {
  await photoFlow(t)
})

test('the same on an S3-compatible store: the bytes are in the bucket, not in the data dir', async (t) => {
  const s3 = await startS3(t)
  const { s, d, up } = await photoFlow(t, s3.env)
  assert.ok(!fs.existsSync(`${s.dataDir}/files/${d.id}/${up.body.id}`))
  assert.equal(s.app.files.storage.kind, 's3')
})

test('uploads take the domain key or multipart; a record keeps its bytes and length, and seeks by byte range', async (t) => {
  const s = await startServer(t)
  const d = await s.domain()
  const record = m4a(2500)
  const form = new FormData()
  form.append('file', new Blob([record], { type: 'text/html' }), 'voice.html') // name and type mean nothing
  const up = await upload(s, d.id, d.apiKey, form)
  assert.equal(up.status, 201, JSON.stringify(up.body))
  assert.equal(up.body.contentType, 'audio/mp4')
  assert.equal(up.body.durationMs, 2500)
  assert.equal(up.body.size, record.length)
  assert.equal(up.body.thumbnailUrl, null)
  assert.equal(up.body.width, null)

  const whole = await fetchFile(up.body.url)
  assert.deepEqual(whole.bytes, record)
  assert.equal(whole.headers.get('accept-ranges'), 'bytes')
  const part = await fetchFile(up.body.url, { range: 'bytes=100-199' })
  assert.equal(part.status, 206)
  assert.equal(part.headers.get('content-range'), `bytes 100-199/${record.length}`)
  assert.deepEqual(part.bytes, record.subarray(100, 200))
  const tail = await fetchFile(up.body.url, { range: 'bytes=-10' })
  assert.deepEqual(tail.bytes, record.subarray(record.length - 10))
  const beyond = await fetchFile(up.body.url, { range: `bytes=${record.length}-` })
  assert.equal(beyond.status, 416)
  assert.equal(beyond.headers.get('content-range'), `bytes */${record.length}`)

  // Through the API too: a customer's server sends a record (type 3).
  const sent = await s.api('POST', `/api/v1/domains/${d.id}/messages`, { from_userid: 1, to_userid: 2, type: 3, message: up.body.url }, d.apiKey)
  assert.equal(sent.status, 201, JSON.stringify(sent.body))
  assert.equal(sent.body.message.message, up.body.url)

  // Unguessable and not a path: other ids, other domains, traversal are all 404.
  for (const path of [`/files/${d.id}/${'A'.repeat(22)}`, `/files/other/${up.body.id}`, `/files/${d.id}/..%2F..%2Fmqchat.sqlite`, `/files/${d.id}/${up.body.id}/thumbnail`]) {
    assert.equal((await fetch(s.httpUrl + path)).status, 404, path)
  }
})

test('kinds are judged by the bytes: SVG, HTML, a PNG header glued to HTML, a truncated JPEG are 415; nothing is stored', async (t) => {
  const s = await startServer(t)
  const d = await s.domain()
  const photo = await photoWithExif()
  const cases: Array<[string, Buffer, string]> = [
    ['svg', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'), 'image/svg+xml'],
    ['html', Buffer.from('<!doctype html><html><script>alert(document.cookie)</script></html>'), 'image/png'],
    ['png header glued to html', Buffer.concat([(await png(8, 8)).subarray(0, 33), Buffer.from('<html><script>alert(1)</script></html>')]), 'image/png'],
    ['truncated jpeg', photo.subarray(0, Math.floor(photo.length * 0.6)), 'image/jpeg'],
    ['zip', Buffer.from('504b0304140000000800', 'hex'), 'image/jpeg'],
    ['empty', Buffer.alloc(0), 'image/jpeg']
  ]
  for (const [what, bytes, type] of cases) {
    const r = await upload(s, d.id, d.apiKey, bytes, type)
    assert.equal(r.status, 415, `${what}: ${JSON.stringify(r.body)}`)
    assert.equal(r.body.error.code, 'unsupported_media_type', what)
  }
  assert.equal(await s.app.store.storedBytes(d.id), 0)
  assert.deepEqual(fs.readdirSync(path.join(s.dataDir, 'tmp')), [], 'no temporary file is left behind')
  assert.equal(fs.existsSync(path.join(s.dataDir, 'files', d.id)), false, 'nothing in the storage')
})

test('GIF and WebP animations stay animated, PNG stays PNG, each with a thumbnail of its kind', async (t) => {
  const s = await startServer(t)
  const d = await s.domain()
  for (const [bytes, type, pages] of [[await animation('gif'), 'image/gif', 2], [await animation('webp'), 'image/webp', 2], [await png(1000, 500), 'image/png', 1]] as const) {
    const up = await upload(s, d.id, d.apiKey, bytes, 'application/octet-stream')
    assert.equal(up.status, 201, JSON.stringify(up.body))
    assert.equal(up.body.contentType, type)
    const got = await fetchFile(up.body.url)
    assert.equal(got.headers.get('content-type'), type)
    const meta = await sharp(got.bytes, { animated: true }).metadata()
    assert.equal(meta.pages ?? 1, pages, `${type}: its frames`)
    assert.deepEqual([up.body.width, up.body.height], type === 'image/png' ? [1000, 500] : [60, 40], `${type}: the size of one frame`)
    const thumb = await sharp((await fetchFile(up.body.thumbnailUrl)).bytes).metadata()
    assert.equal(`image/${thumb.format}`, type)
    assert.ok(Math.max(thumb.width!, thumb.height!) <= 320)
  }
})

test('a 20,000 × 20,000 picture (a decompression bomb) is too_large; a bomb in a text chunk is stripped, memory stays bounded', async (t) => {
  const s = await startServer(t)
  const d = await s.domain()
  const bomb = await bombPng(20_000, 20_000)
  const textBomb = await pngWithTextBomb(100 * 1024 * 1024)
  const rssBefore = process.memoryUsage().rss
  const r = await upload(s, d.id, d.apiKey, bomb, 'image/png')
  assert.equal(r.status, 413, JSON.stringify(r.body))
  assert.equal(r.body.error.code, 'too_large')
  assert.match(r.body.error.message, /20000 × 20000/)

  const ok = await upload(s, d.id, d.apiKey, textBomb, 'image/png')
  assert.equal(ok.status, 201, JSON.stringify(ok.body))
  const stored = await fetchFile(ok.body.url)
  assert.ok(stored.bytes.length < 10_000, `the text chunk is not kept (${stored.bytes.length} bytes)`)
  const grown = process.memoryUsage().rss - rssBefore
  // made before measuring: 100 MB of text would show if it were inflated
  assert.ok(grown < 80 * 1024 * 1024, `memory grew by ${Math.round(grown / 1048576)} MB`)
  assert.equal(await s.app.store.storedBytes(d.id), ok.body.size + (await fetchFile(ok.body.thumbnailUrl)).bytes.length)
})

test('an endless upload is cut at MQCHAT_UPLOAD_MAX_BYTES with 413 without reading the rest; a declared 2 GB one before any byte', async (t) => {
  const s = await startServer(t, {}, { MQCHAT_UPLOAD_MAX_BYTES: String(1024 * 1024) })
  const d = await s.domain()
  const chunk = Buffer.alloc(64 * 1024, 7)
  const LIMIT = 200 * 1024 * 1024
  const { status, body, written } = await new Promise<{ status: number, body: string, written: number }>((resolve, reject) => {
    let written = 0
    let answered = false
    const req = http.request(`${s.httpUrl}/api/v1/domains/${d.id}/files`, {
      method: 'POST', headers: { authorization: `Bearer ${d.apiKey}`, 'content-type': 'image/jpeg', 'transfer-encoding': 'chunked' }
    }, (res) => {
      answered = true
      let text = ''
      res.on('data', (c) => { text += c })
      res.on('end', () => { resolve({ status: res.statusCode!, body: text, written }); req.destroy() })
    })
    req.on('error', (err) => { if (!answered) reject(err) })
    const pump = (): void => {
      while (!answered && written < LIMIT) {
        written += chunk.length
        if (!req.write(chunk)) { req.once('drain', pump); return }
      }
      if (!answered) req.end()
    }
    pump()
  })
  assert.equal(status, 413, body)
  assert.equal(JSON.parse(body).error.code, 'too_large')
  assert.ok(written < 64 * 1024 * 1024, `the client could send only ${Math.round(written / 1048576)} MB before the answer`)

  const declared = await new Promise<number>((resolve, reject) => {
    const req = http.request(`${s.httpUrl}/api/v1/domains/${d.id}/files`, {
      method: 'POST', headers: { authorization: `Bearer ${d.apiKey}`, 'content-type': 'image/jpeg', 'content-length': String(2 * 1024 ** 3) }
    }, (res) => { resolve(res.statusCode!); req.destroy() })
    req.on('error', reject)
    req.flushHeaders() // headers only: not one byte of the body
  })
  assert.equal(declared, 413)
  assert.equal(await s.app.store.storedBytes(d.id), 0)
})

test('uploads need the domain\'s own key or a valid token of its user', async (t) => {
  const s = await startServer(t)
  const d = await s.domain()
  const other = await s.domain()
  const bytes = await png(10, 10)
  const cases: Array<[string, string, number, string]> = [
    ['another domain\'s key', other.apiKey, 404, 'not_found'],
    ['an expired token', signToken(d.tokenSecret, { sub: '2', aud: d.id, exp: Math.floor(Date.now() / 1000) - 10 }), 401, 'unauthorized'],
    ['a token signed with another secret', signToken(other.tokenSecret, { sub: '2', aud: d.id, exp: Math.floor(Date.now() / 1000) + 60 }), 401, 'unauthorized'],
    ['a valid token of another domain', signToken(other.tokenSecret, { sub: '2', aud: other.id, exp: Math.floor(Date.now() / 1000) + 60 }), 404, 'not_found'],
    ['no key at all', 'nonsense', 401, 'unauthorized']
  ]
  for (const [what, key, status, code] of cases) {
    const r = await upload(s, d.id, key, bytes, 'image/png')
    assert.equal(r.status, status, `${what}: ${JSON.stringify(r.body)}`)
    assert.equal(r.body.error.code, code, what)
  }
  assert.equal((await upload(s, d.id, s.operatorKey, bytes, 'image/png')).status, 201, 'the operator key may do everything')
  // a token minted before its user was erased uploads nothing, as it does nothing else
  const before = signToken(d.tokenSecret, { sub: '5', aud: d.id, iat: Math.floor(Date.now() / 1000) - 5, exp: Math.floor(Date.now() / 1000) + 60 })
  assert.equal((await upload(s, d.id, before, bytes, 'image/png')).status, 201, 'the token works while its user is there')
  assert.equal((await s.api('DELETE', `/api/v1/domains/${d.id}/users/5`, undefined, d.apiKey)).status, 204)
  const r = await upload(s, d.id, before, bytes, 'image/png')
  assert.equal(r.status, 401, `an erased user's token: ${JSON.stringify(r.body)}`)
})

test('a message of type 2-4 must carry the URL of a file of its own domain: invalid_attachment otherwise, nothing stored', async (t) => {
  const s = await startServer(t)
  const d = await s.domain()
  const other = await s.domain()
  const mine = await upload(s, d.id, d.apiKey, await png(10, 10), 'image/png')
  const theirs = await upload(s, other.id, other.apiKey, await png(10, 10), 'image/png')
  const base = `http://localhost:${s.app.httpPort}`
  const bad: Array<[string, number, string]> = [
    ['another domain\'s file', 2, theirs.body.url],
    ['that file under our domain', 4, theirs.body.url.replace(`/${other.id}/`, `/${d.id}/`)],
    ['a made-up id', 2, `${base}/files/${d.id}/${'x'.repeat(22)}`],
    ['an external URL', 2, 'https://evil.example/files/cat.jpg'],
    ['our file with a query', 3, `${mine.body.url}?x=1`],
    ['plain text', 3, 'hello']
  ]
  for (const [what, type, message] of bad) {
    const ack = await sendOverMqtt(s, d, 2, { to_userid: 3, type, message })
    assert.equal(ack.error?.code, 'invalid_attachment', `${what}: ${JSON.stringify(ack)}`)
    const api = await s.api('POST', `/api/v1/domains/${d.id}/messages`, { from_userid: 2, to_userid: 3, type, message }, d.apiKey)
    assert.equal(api.status, 400, what)
    assert.equal(api.body.error.code, 'invalid_attachment', what)
  }
  const hist = await s.api('GET', `/api/v1/domains/${d.id}/messages`, undefined, d.apiKey)
  assert.deepEqual(hist.body.messages, [], 'nothing stored')
  // Text may mention a file: only types 2-4 carry one.
  assert.equal((await sendOverMqtt(s, d, 2, { to_userid: 3, type: 0, message: theirs.body.url })).error, undefined)
})

test('a file nobody sent is deleted after 24 h; a sent one stays while a message carries it', async (t) => {
  const s = await startServer(t)
  const d = await s.domain()
  const unsent = await upload(s, d.id, d.apiKey, await png(30, 20), 'image/png')
  const sent = await upload(s, d.id, d.apiKey, await png(30, 20), 'image/png')
  assert.equal((await s.api('POST', `/api/v1/domains/${d.id}/messages`, { from_userid: 2, to_userid: 3, type: 4, message: sent.body.url }, d.apiKey)).status, 201)

  assert.equal(await s.app.files.sweep(Date.now()), 0, 'nothing is due yet')
  assert.equal(await s.app.files.sweep(Date.now() + 25 * 3600 * 1000), 1)
  assert.equal((await fetch(unsent.body.url)).status, 404)
  assert.equal((await fetch(unsent.body.thumbnailUrl)).status, 404)
  assert.equal(await s.app.store.getFile(d.id, unsent.body.id), null)
  assert.equal((await fetch(sent.body.url)).status, 200)
  assert.equal(await s.app.store.storedBytes(d.id), sent.body.size + (await fetchFile(sent.body.thumbnailUrl)).bytes.length)
})

test('the domain\'s storage quota is answered with 413 quota_exceeded, before the body is read once full', async (t) => {
  const s = await startServer(t, {}, { MQCHAT_STORAGE_QUOTA_BYTES: '6000' })
  const d = await s.domain()
  const first = await upload(s, d.id, d.apiKey, m4a(1000, 4000), 'audio/mp4')
  assert.equal(first.status, 201)
  const second = await upload(s, d.id, d.apiKey, m4a(1000, 4000), 'audio/mp4')
  assert.equal(second.status, 413)
  assert.equal(second.body.error.code, 'quota_exceeded')
  const other = await s.domain()
  assert.equal((await upload(s, other.id, other.apiKey, m4a(1000, 4000), 'audio/mp4')).status, 201, 'the quota is per domain')
})

test('metrics count uploads by kind and the bytes they stored', async (t) => {
  const s = await startServer(t)
  const d = await s.domain()
  const up = await upload(s, d.id, d.apiKey, m4a(1000, 1000), 'audio/mp4')
  const text = await (await fetch(`${s.httpUrl}/metrics`, { headers: { authorization: `Bearer ${s.operatorKey}` } })).text()
  assert.match(text, /mqchat_file_uploads_total\{kind="record"\} 1\b/)
  assert.match(text, new RegExp(`mqchat_file_stored_bytes_total ${up.body.size}\\b`))
})

test('many pictures uploaded at once all come through (they take turns to be decoded)', async (t) => {
  const s = await startServer(t)
  const d = await s.domain()
  const photo = await photoWithExif()
  const answers = await Promise.all(Array.from({ length: 12 }, () => upload(s, d.id, d.apiKey, photo, 'image/jpeg')))
  assert.deepEqual(answers.map((a) => a.status), Array(12).fill(201))
  assert.equal(new Set(answers.map((a) => a.body.id)).size, 12, 'each its own id')
  assert.ok(answers.every((a) => a.body.width === 200 && a.body.height === 400))
})

test('an operator key with dots in it is still a key, not a token', async (t) => {
  const s = await startServer(t, {}, { MQCHAT_ADMIN_KEY: 'my.operator.key-0123456789' })
  const d = await s.domain()
  assert.equal((await upload(s, d.id, 'my.operator.key-0123456789', await png(10, 10), 'image/png')).status, 201)
  assert.equal((await upload(s, d.id, 'my.operator.key-WRONG', await png(10, 10), 'image/png')).status, 401)
})

test('a bucket that cannot be used stops start-up with a line naming MQCHAT_STORAGE_URL', async (t) => {
  const s3 = await startS3(t)
  await assert.rejects(startServer(t, {}, { ...s3.env, MQCHAT_STORAGE_URL: 's3://no-such-bucket/x' }), (err: Error) => {
    assert.match(err.message, /^MQCHAT_STORAGE_URL: bucket "no-such-bucket" at http:\/\/127\.0\.0\.1:\d+ \(MQCHAT_S3_ENDPOINT\): no such bucket$/)
    return true
  })
})

test('multipart: one part named "file", cut at the limit like a raw body', async (t) => {
  const s = await startServer(t, {}, { MQCHAT_UPLOAD_MAX_BYTES: String(64 * 1024) })
  const d = await s.domain()
  const named = (name: string, bytes: Buffer) => { const f = new FormData(); f.append(name, new Blob([bytes]), 'x.png'); return f }
  const wrong = await upload(s, d.id, d.apiKey, named('photo', await png(10, 10)))
  assert.equal(wrong.status, 400, JSON.stringify(wrong.body))
  assert.equal(wrong.body.error.code, 'invalid_request')
  assert.match(wrong.body.error.message, /"file"/)
  const big = await upload(s, d.id, d.apiKey, named('file', m4a(1000, 200 * 1024)))
  assert.equal(big.status, 413, JSON.stringify(big.body))
  assert.equal(big.body.error.code, 'too_large')
  // Within the length allowed for multipart framing, so it is the part's own count that cuts it.
  const slightly = await upload(s, d.id, d.apiKey, named('file', m4a(1000, 70 * 1024)))
  assert.equal(slightly.status, 413, JSON.stringify(slightly.body))
  assert.equal(slightly.body.error.code, 'too_large')
  assert.equal(await s.app.store.storedBytes(d.id), 0)
  assert.equal((await upload(s, d.id, d.apiKey, named('file', await png(10, 10)))).status, 201)
  assert.equal(await s.app.store.storedBytes(d.id) > 0, true)
})
