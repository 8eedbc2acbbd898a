// Files in the data dir: `<dataDir>/files/<domain>/<id>`. A file is written to a temporary
// name in the same directory and renamed, so a reader never sees half a file.
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { ByteRange, FileStorage } from './storage.ts'

/** A key is made of our own ids: `domain/id[.thumb]`; anything else is refused outright. */
const KEY_RE = /^[a-z0-9][a-z0-9.-]{0,62}\/[A-Za-z0-9_-]{1,64}(\.thumb)?$/

export class DiskStorage implements FileStorage {
  readonly kind = 'disk'

  constructor (private readonly root: string) {}

  private pathOf (key: string): string {
    if (!KEY_RE.test(key)) throw new Error(`not a storage key: ${JSON.stringify(key)}`)
    return path.join(this.root, key)
  }

  async putFile (key: string, source: string): Promise<void> {
    const dest = this.pathOf(key)
    await fsp.mkdir(path.dirname(dest), { recursive: true })
    const tmp = `${dest}.${randomBytes(6).toString('hex')}.part`
    try {
      await pipeline(fs.createReadStream(source), fs.createWriteStream(tmp, { flags: 'wx' }))
      await fsp.rename(tmp, dest)
    } catch (err) {
      await fsp.rm(tmp, { force: true })
      throw err
    }
  }

  async putBuffer (key: string, body: Buffer): Promise<void> {
    const dest = this.pathOf(key)
    await fsp.mkdir(path.dirname(dest), { recursive: true })
    const tmp = `${dest}.${randomBytes(6).toString('hex')}.part`
    await fsp.writeFile(tmp, body, { flag: 'wx' })
    await fsp.rename(tmp, dest)
  }

  async read (key: string, range?: ByteRange): Promise<Readable | null> {
    let fh: fsp.FileHandle
    try {
      fh = await fsp.open(this.pathOf(key), 'r')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
      throw err
    }
    return fh.createReadStream(range === undefined ? {} : { start: range.start, end: range.end })
  }

  async delete (key: string): Promise<void> {
    await fsp.rm(this.pathOf(key), { force: true })
  }
}
