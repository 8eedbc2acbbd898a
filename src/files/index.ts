// Uploads (SPEC §8): an upload is streamed to a temporary file, cut off at
// MQCHAT_UPLOAD_MAX_BYTES, judged by its bytes, cleaned (pictures), checked against the
// domain's quota, then stored with a row in the database. A sweep deletes the files no
// message carries. Memory per upload is bounded by stream buffers and one thumbnail, never
// by the file's size.
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import fsp from 'node:fs/promises'
import path from 'node:path'
import { Transform, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { Config } from '../config.ts'
import { AppError } from '../errors.ts'
import type { Logger } from '../log.ts'
import type { Service } from '../service.ts'
import type { FileRow, Store } from '../store/index.ts'
import { DiskStorage } from './disk-storage.ts'
import { recordDurationMs } from './duration.ts'
import { sniffFile, type FileKind } from './kinds.ts'
import { processPicture } from './picture.ts'
import { S3Storage } from './s3-storage.ts'
import { fileKey, thumbnailKey, type ByteRange, type FileStorage } from './storage.ts'
import { fileUrl, newFileId, thumbnailUrl } from './urls.ts'

export { parseRange } from './range.ts'
export { FILE_ID_RE, fileIdOfUrl } from './urls.ts'
export type { FileStorage } from './storage.ts'

/** SPEC §8: a file no message carries within this time is deleted. */
export const UNATTACHED_TTL_MS = 24 * 3600 * 1000
/** How often the sweep runs. */
const SWEEP_INTERVAL_MS = 10 * 60 * 1000
/** Files looked at per sweep query. */
const SWEEP_BATCH = 500
/**
 * Pictures decoded at once. A 40-megapixel picture takes ~160 MB while it is turned and
 * written again: more at once than there are cores would not finish sooner, only hold more
 * memory. Further pictures wait their turn (their bytes are already on disk).
 */
const PICTURES_AT_ONCE = Math.max(1, os.availableParallelism())

/** The answer to an upload (SPEC §8); fields that do not apply are null. */
export interface UploadedFile {
  id: string
  url: string
  contentType: string
  size: number
  width: number | null
  height: number | null
  durationMs: number | null
  thumbnailUrl: string | null
}

export interface FileStats {
  uploads: Record<FileKind, number>
  /** bytes stored by uploads (files and thumbnails), ever: a counter */
  bytesStored: number
}

export function createStorage (config: Config): FileStorage {
  return config.storage === null ? new DiskStorage(path.join(config.dataDir, 'files')) : new S3Storage(config.storage)
}

export class Files implements Service {
  readonly name = 'files'
  readonly stats: FileStats = { uploads: { picture: 0, record: 0 }, bytesStored: 0 }
  private readonly tmpDir: string
  private timer: NodeJS.Timeout | null = null
  private sweeping: Promise<number> | null = null
  private readonly pictureSlots = new Slots(PICTURES_AT_ONCE)

  constructor (
    private readonly store: Store,
    readonly storage: FileStorage,
    private readonly config: Config,
    private readonly publicUrl: () => string,
    private readonly log: Logger
  ) {
    this.tmpDir = path.join(config.dataDir, 'tmp')
  }

  async start (): Promise<void> {
    // Left by a crash mid-upload: nobody will finish them.
    await fsp.rm(this.tmpDir, { recursive: true, force: true })
    await fsp.mkdir(this.tmpDir, { recursive: true })
    if (this.storage instanceof S3Storage) await this.storage.check()
    this.timer = setInterval(() => { void this.sweep().catch((err) => this.log.warn({ err }, 'file sweep failed')) }, SWEEP_INTERVAL_MS).unref()
  }

  async stop (): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer)
    await this.sweeping?.catch(() => {})
    if (this.storage instanceof S3Storage) this.storage.close()
  }

  /** Refuses at once a domain already at its quota: nothing of the upload is read. */
  async checkQuota (domainId: string): Promise<void> {
    if (await this.store.storedBytes(domainId) >= this.config.storageQuotaBytes) throw quotaExceeded(this.config.storageQuotaBytes)
  }

  /** Reads `body` (stopping at the size limit), judges, cleans and stores it. */
  async upload (domainId: string, body: Readable): Promise<UploadedFile> {
    const base = path.join(this.tmpDir, randomBytes(12).toString('hex'))
    const raw = `${base}.in`
    const clean = `${base}.out`
    try {
      await pipeline(body, limitBytes(this.config.uploadMaxBytes), fs.createWriteStream(raw, { flags: 'wx' }))
      const sniffed = await sniffFile(raw)
      if (sniffed === null) {
        throw new AppError('unsupported_media_type', 'accepted files are pictures (JPEG, PNG, GIF, WebP) and records (WebM, Ogg, MP4/M4A, MP3 audio), judged by their bytes')
      }
      const id = newFileId()
      const row: FileRow = {
        domainId, id, contentType: sniffed.contentType, size: 0, thumbnailSize: 0, width: null, height: null, durationMs: null, createdAt: Date.now(), attachedAt: null
      }
      let stored = raw
      let thumbnail: Buffer | null = null
      if (sniffed.kind === 'picture') {
        const pic = await this.pictureSlots.run(() => processPicture(raw, clean, sniffed.contentType))
        Object.assign(row, { size: pic.size, width: pic.width, height: pic.height, thumbnailSize: pic.thumbnail.length })
        stored = clean
        thumbnail = pic.thumbnail
      } else {
        row.size = (await fsp.stat(raw)).size
        row.durationMs = await recordDurationMs(raw, sniffed.contentType)
      }
      // Checked again with the real size. Two uploads racing may both pass: the quota is a
      // budget, not a hard wall; the next upload then finds the domain over it.
      const used = await this.store.storedBytes(domainId)
      if (used + row.size + row.thumbnailSize > this.config.storageQuotaBytes) throw quotaExceeded(this.config.storageQuotaBytes)

      await this.storage.putFile(fileKey(domainId, id), stored, sniffed.contentType)
      if (thumbnail !== null) await this.storage.putBuffer(thumbnailKey(domainId, id), thumbnail, sniffed.contentType)
      try {
        await this.store.createFile(row)
      } catch (err) {
        await this.removeBytes(domainId, id)
        throw err
      }
      this.stats.uploads[sniffed.kind]++
      this.stats.bytesStored += row.size + row.thumbnailSize
      return this.describe(row)
    } finally {
      await Promise.all([fsp.rm(raw, { force: true }), fsp.rm(clean, { force: true })])
    }
  }

  describe (row: FileRow): UploadedFile {
    const base = this.publicUrl()
    return {
      id: row.id,
      url: fileUrl(base, row.domainId, row.id),
      contentType: row.contentType,
      size: row.size,
      width: row.width,
      height: row.height,
      durationMs: row.durationMs,
      thumbnailUrl: row.thumbnailSize > 0 ? thumbnailUrl(base, row.domainId, row.id) : null
    }
  }

  getFile (domainId: string, id: string): Promise<FileRow | null> {
    return this.store.getFile(domainId, id)
  }

  /** The bytes of a file (or its thumbnail), whole or one range; null when gone. */
  read (row: FileRow, which: 'file' | 'thumbnail', range?: ByteRange): Promise<Readable | null> {
    return this.storage.read(which === 'file' ? fileKey(row.domainId, row.id) : thumbnailKey(row.domainId, row.id), range)
  }

  /**
   * Deletes the files no message carries (SPEC §8): unsent for UNATTACHED_TTL_MS, or whose
   * messages are all gone (retention, user erasure). The row goes first, so a file is never
   * listed whose bytes are gone; bytes whose deletion failed are only wasted space.
   */
  sweep (nowMs = Date.now()): Promise<number> {
    // With several nodes, one sweeps at a time (each delete re-checks anyway).
    this.sweeping ??= this.store.exclusively('file-sweep', () => this.sweepOnce(nowMs)).then((n) => n ?? 0).finally(() => { this.sweeping = null })
    return this.sweeping
  }

  private async sweepOnce (nowMs: number): Promise<number> {
    const cutoff = nowMs - UNATTACHED_TTL_MS
    let after: { domainId: string, id: string } | null = null
    let deleted = 0
    for (;;) {
      const batch = await this.store.sweepableFiles(cutoff, after, SWEEP_BATCH)
      if (batch.length === 0) break
      for (const f of batch) {
        if (!await this.store.deleteFile(f.domainId, f.id, cutoff)) continue
        deleted++
        await this.removeBytes(f.domainId, f.id).catch((err) => this.log.warn({ err, domainId: f.domainId, fileId: f.id }, 'file bytes not deleted'))
      }
      after = batch.at(-1)!
    }
    if (deleted > 0) this.log.info({ deleted }, 'files no message carries were deleted')
    return deleted
  }

  private async removeBytes (domainId: string, id: string): Promise<void> {
    await this.storage.delete(fileKey(domainId, id))
    await this.storage.delete(thumbnailKey(domainId, id))
  }
}

/** At most `size` tasks at once; the others wait in arrival order. */
class Slots {
  private free: number
  private readonly waiting: Array<() => void> = []
  constructor (size: number) { this.free = size }

  async run<T> (task: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--
    else await new Promise<void>((resolve) => this.waiting.push(resolve))
    try {
      return await task()
    } finally {
      const next = this.waiting.shift()
      if (next !== undefined) next()
      else this.free++
    }
  }
}

/** Passes bytes through until more than `max` have come; then fails with too_large. */
function limitBytes (max: number): Transform {
  let seen = 0
  return new Transform({
    transform (chunk: Buffer, _enc, done) {
      seen += chunk.length
      if (seen > max) return done(tooLarge(max))
      done(null, chunk)
    }
  })
}

export const tooLarge = (max: number): AppError => new AppError('too_large', `the file is larger than ${max} bytes (MQCHAT_UPLOAD_MAX_BYTES)`)
const quotaExceeded = (quota: number): AppError => new AppError('quota_exceeded', `the domain's files would pass its storage quota of ${quota} bytes`)
