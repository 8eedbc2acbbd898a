// The pure decisions of files (SPEC §8), with literal tables: byte ranges, accepted kinds,
// file URLs, settings; and a record's length read from its container.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { test } from 'node:test'
import { loadConfig } from '../src/config.ts'
import { SetupError } from '../src/errors.ts'
import { recordDurationMs } from '../src/files/duration.ts'
import { acceptedKind } from '../src/files/kinds.ts'
import { parseRange } from '../src/files/range.ts'
import { fileIdOfUrl, fileUrl, newFileId } from '../src/files/urls.ts'
import { m4a } from './helpers/media.ts'

test('byte ranges: one range served, the rest whole or 416', () => {
  const table: Array<[string | undefined, number, ReturnType<typeof parseRange>]> = [
    [undefined, 100, null],
    ['bytes=0-1', 100, { start: 0, end: 1 }],
    ['bytes=0-0', 100, { start: 0, end: 0 }],
    ['bytes=10-', 100, { start: 10, end: 99 }],
    ['bytes=90-500', 100, { start: 90, end: 99 }],
    ['bytes=-10', 100, { start: 90, end: 99 }],
    ['bytes=-500', 100, { start: 0, end: 99 }],
    ['bytes=100-', 100, 'unsatisfiable'],
    ['bytes=-0', 100, 'unsatisfiable'],
    ['bytes=0-', 0, 'unsatisfiable'],
    ['bytes=5-2', 100, null],
    ['bytes=0-1,5-6', 100, null],
    ['items=0-1', 100, null],
    ['bytes=-', 100, null],
    ['bytes=abc', 100, null]
  ]
  for (const [header, size, want] of table) assert.deepEqual(parseRange(header, size), want, `${header} of ${size}`)
})

test('kinds: the pictures and records of §8, nothing else', () => {
  const table: Array<[string | undefined, string | null]> = [
    ['jpg', 'image/jpeg'], ['png', 'image/png'], ['gif', 'image/gif'], ['webp', 'image/webp'],
    ['webm', 'audio/webm'], ['ogg', 'audio/ogg'], ['opus', 'audio/ogg'], ['m4a', 'audio/mp4'], ['mp4', 'audio/mp4'], ['mp3', 'audio/mpeg'],
    ['svg', null], ['html', null], ['xml', null], ['zip', null], ['pdf', null], ['avif', null], ['heic', null], ['bmp', null], ['tif', null], ['exe', null], [undefined, null],
    ['constructor', null], ['__proto__', null]
  ]
  for (const [ext, want] of table) {
    if (want === null) assert.equal(acceptedKind(ext), null, String(ext))
    else assert.equal(acceptedKind(ext)!.contentType, want, String(ext))
  }
})

test('file URLs: only our own, of the same domain, with a well-formed id', () => {
  const base = 'https://chat.example.com'
  const id = newFileId()
  assert.equal(id.length, 22)
  assert.notEqual(newFileId(), id)
  const url = fileUrl(base, 'acme', id)
  assert.equal(url, `https://chat.example.com/files/acme/${id}`)
  const table: Array<[string, string | null]> = [
    [url, id],
    [`https://chat.example.com/files/beta/${id}`, null],
    [`https://chat.example.com/files/acme/${id}/thumbnail`, null],
    [`https://chat.example.com/files/acme/${id}?a=1`, null],
    [`https://chat.example.com/files/acme/${id}#x`, null],
    [`http://chat.example.com/files/acme/${id}`, null],
    [`https://chat.example.com.evil.io/files/acme/${id}`, null],
    [`https://evil.io/?https://chat.example.com/files/acme/${id}`, null],
    ['https://chat.example.com/files/acme/../../etc/passwd', null],
    ['https://chat.example.com/files/acme/short', null],
    ['', null]
  ]
  for (const [u, want] of table) assert.equal(fileIdOfUrl(base, 'acme', u), want, u)
})

test('settings of files: defaults, S3 locations, and every bad value named', () => {
  const c = loadConfig({})
  assert.equal(c.publicUrl, null)
  assert.equal(c.storage, null)
  assert.equal(c.uploadMaxBytes, 10 * 1024 * 1024)
  assert.equal(c.storageQuotaBytes, 2 * 1024 ** 3)
  const s3 = loadConfig({ MQCHAT_PUBLIC_URL: 'https://chat.example.com/', MQCHAT_STORAGE_URL: 's3://my-bucket/chat/files/', MQCHAT_S3_ENDPOINT: 'http://127.0.0.1:9000', AWS_REGION: 'eu-west-3', AWS_ACCESS_KEY_ID: 'k', AWS_SECRET_ACCESS_KEY: 's' })
  assert.equal(s3.publicUrl, 'https://chat.example.com')
  assert.deepEqual(s3.storage, { bucket: 'my-bucket', prefix: 'chat/files/', endpoint: 'http://127.0.0.1:9000', region: 'eu-west-3', credentials: { accessKeyId: 'k', secretAccessKey: 's' } })
  assert.deepEqual(loadConfig({ MQCHAT_STORAGE_URL: 's3://bucket' }).storage, { bucket: 'bucket', prefix: '', endpoint: null, region: 'us-east-1', credentials: null })

  assert.throws(() => loadConfig({
    MQCHAT_PUBLIC_URL: 'chat.example.com',
    MQCHAT_STORAGE_URL: '/var/files',
    MQCHAT_S3_ENDPOINT: 'ftp://x',
    MQCHAT_UPLOAD_MAX_BYTES: '10MB',
    MQCHAT_STORAGE_QUOTA_BYTES: '-1'
  }), (err: unknown) => {
    const problems = (err as SetupError).problems.join('\n')
    for (const name of ['MQCHAT_PUBLIC_URL', 'MQCHAT_STORAGE_URL', 'MQCHAT_S3_ENDPOINT', 'MQCHAT_UPLOAD_MAX_BYTES', 'MQCHAT_STORAGE_QUOTA_BYTES']) assert.match(problems, new RegExp(name))
    return true
  })
  assert.throws(() => loadConfig({ MQCHAT_S3_ENDPOINT: 'http://127.0.0.1:9000' }), /MQCHAT_STORAGE_URL is not/)
  assert.throws(() => loadConfig({ MQCHAT_PUBLIC_URL: 'https://chat.example.com/?x=1' }), /MQCHAT_PUBLIC_URL/)
})

test('a record\'s length comes from its container where it says it', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqchat-dur-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  const write = (name: string, bytes: Buffer): string => { const f = path.join(dir, name); fs.writeFileSync(f, bytes); return f }
  assert.equal(await recordDurationMs(write('a.m4a', m4a(61_234)), 'audio/mp4'), 61_234)
  // Ogg Opus: 48 kHz granules minus the pre-skip of its OpusHead.
  const page = (granule: bigint, body: Buffer): Buffer => {
    const h = Buffer.alloc(27)
    h.write('OggS', 0, 'latin1')
    h.writeBigInt64LE(granule, 6)
    h[26] = 1
    return Buffer.concat([h, Buffer.from([body.length]), body])
  }
  const head = Buffer.alloc(19)
  head.write('OpusHead', 0, 'latin1')
  head[8] = 1
  head.writeUInt16LE(312, 10)
  const ogg = Buffer.concat([page(0n, head), page(48_000n * 3n + 312n, Buffer.alloc(50))])
  assert.equal(await recordDurationMs(write('a.ogg', ogg), 'audio/ogg'), 3000)
  assert.equal(await recordDurationMs(write('a.webm', Buffer.alloc(100)), 'audio/webm'), null)
  assert.equal(await recordDurationMs(write('broken.m4a', Buffer.from('garbage')), 'audio/mp4'), null)
})
