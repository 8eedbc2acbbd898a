// File storage: the data dir and an S3-compatible store (s3rver, started here on a free
// port) pass the same conformance suite; the disk side refuses keys that are not ours.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { test } from 'node:test'
import { DiskStorage } from '../src/files/disk-storage.ts'
import { S3Storage } from '../src/files/s3-storage.ts'
import { startS3 } from './helpers/s3.ts'
import { storageConformance } from './storage.conformance.ts'

function tempDir (t: { after: (fn: () => Promise<void>) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqchat-disk-'))
  t.after(async () => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

storageConformance('disk', async (t) => new DiskStorage(tempDir(t)))

storageConformance('s3', async (t) => {
  const s3 = await startS3(t)
  const s = new S3Storage(s3.location())
  t.after(async () => s.close())
  return s
})

test('disk: a key that is not one of ours (a path a user chose) is refused', async (t) => {
  const s = new DiskStorage(tempDir(t))
  for (const key of ['../etc/passwd', 'acme/../../x', '/abs/olute', 'acme/a/b', 'ACME/x', 'acme/.hidden', 'acme/x.php']) {
    await assert.rejects(s.read(key), /not a storage key/, key)
    await assert.rejects(s.delete(key), /not a storage key/, key)
  }
})
