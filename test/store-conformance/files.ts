// The store conformance suite, files (SPEC §8): rows, quota, the sweep.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { FileRow } from '../../src/store/index.ts'
import { eventFor, msg, withDomain, freshStore, type StoreFactory } from './helpers.ts'

export function filesConformance (name: string, factory: StoreFactory): void {
  const fresh = freshStore(factory)

  const file = (domainId: string, id: string, createdAt: number, size = 1000): FileRow => ({
    domainId, id, contentType: 'image/png', size, thumbnailSize: 100, width: 640, height: 480, durationMs: null, createdAt, attachedAt: null
  })

  test(`${name}: files are recorded, found only in their domain, and counted for the quota`, async (t) => {
    const s = await fresh(t)
    const a = await withDomain(s, 'a')
    const b = await withDomain(s, 'b')
    await s.createFile(file(a, 'f1', 1000, 5000))
    await s.createFile({ ...file(a, 'f2', 1000, 7000), contentType: 'audio/ogg', thumbnailSize: 0, width: null, height: null, durationMs: 1500 })
    assert.deepEqual(await s.getFile(a, 'f1'), file(a, 'f1', 1000, 5000))
    assert.equal((await s.getFile(a, 'f2'))!.durationMs, 1500)
    assert.equal(await s.getFile(b, 'f1'), null, 'another domain does not see it')
    assert.equal(await s.storedBytes(a), 5000 + 100 + 7000)
    assert.equal(await s.storedBytes(b), 0)
  })

  test(`${name}: a file no message carries is swept after the cut-off; one sent is kept until its messages are gone`, async (t) => {
    const s = await fresh(t)
    const d = await withDomain(s)
    const DAY = 24 * 3600 * 1000
    const t0 = 1_700_000_000_000
    await s.createFile(file(d, 'sent', t0))
    await s.createFile(file(d, 'unsent', t0))
    await s.createFile(file(d, 'recent', t0 + DAY))
    await s.appendMessage({ ...msg(d, 1, 2, 'http://x/files/acme/sent', t0 + 5), type: 2, fileId: 'sent' }, eventFor)
    await s.appendMessage({ ...msg(d, 2, 1, 'http://x/files/acme/sent', t0 + 6), type: 2, fileId: 'sent' }, eventFor)
    const sent = (await s.getFile(d, 'sent'))!
    assert.equal(sent.attachedAt, t0 + 5, 'attached by the first message that carries it')
    assert.equal((await s.getFile(d, 'unsent'))!.attachedAt, null)

    const cutoff = t0 + DAY - 1 // 'unsent' and 'sent' are older than a day, 'recent' is not
    assert.deepEqual((await s.sweepableFiles(cutoff, null, 100)).map((f) => f.id), ['unsent'])
    assert.equal(await s.deleteFile(d, 'sent', cutoff), false, 'a file a message carries is never deleted')
    assert.equal(await s.deleteFile(d, 'recent', cutoff), false, 'a recent upload waits for its sender')
    assert.equal(await s.deleteFile(d, 'unsent', cutoff), true)
    assert.equal(await s.getFile(d, 'unsent'), null)

    await factory.deleteMessages(s, d)
    assert.deepEqual((await s.sweepableFiles(cutoff, null, 100)).map((f) => f.id), ['sent'], 'its messages are gone: nobody carries it')
    assert.equal(await s.deleteFile(d, 'sent', cutoff), true)
    assert.deepEqual((await s.sweepableFiles(t0 + 2 * DAY, null, 100)).map((f) => f.id), ['recent'])
  })

  test(`${name}: the sweep pages through files by key`, async (t) => {
    const s = await fresh(t)
    const a = await withDomain(s, 'a')
    const b = await withDomain(s, 'b')
    for (const id of ['k3', 'k1', 'k2']) {
      await s.createFile(file(a, id, 1))
      await s.createFile(file(b, id, 1))
    }
    const seen: string[] = []
    let after: { domainId: string, id: string } | null = null
    for (;;) {
      const page = await s.sweepableFiles(10, after, 2)
      if (page.length === 0) break
      seen.push(...page.map((f) => `${f.domainId}/${f.id}`))
      after = page.at(-1)!
    }
    assert.deepEqual(seen, ['a/k1', 'a/k2', 'a/k3', 'b/k1', 'b/k2', 'b/k3'])
  })
}
