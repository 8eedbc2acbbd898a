// Files in an S3-compatible object store (MQCHAT_STORAGE_URL=s3://bucket/prefix). Uploads
// are streamed from the local temporary file with their length, so no file is held in memory.
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import type { Readable } from 'node:stream'
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import type { S3Location } from '../config.ts'
import type { ByteRange, FileStorage } from './storage.ts'

export class S3Storage implements FileStorage {
  readonly kind = 's3'
  private readonly client: S3Client

  constructor (private readonly where: S3Location) {
    this.client = new S3Client({
      region: where.region,
      // Checksums only where S3 requires them: the SDK's default sends bodies in the
      // aws-chunked encoding with checksum trailers, which S3-compatible stores other than
      // AWS (s3rver, older MinIO, Ceph) store verbatim or refuse.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      ...(where.endpoint === null ? {} : { endpoint: where.endpoint, forcePathStyle: true }),
      ...(where.credentials === null ? {} : { credentials: where.credentials })
    })
  }

  private keyOf (key: string): string {
    return this.where.prefix + key
  }

  async putFile (key: string, source: string, contentType: string): Promise<void> {
    const { size } = await fsp.stat(source)
    await this.client.send(new PutObjectCommand({
      Bucket: this.where.bucket, Key: this.keyOf(key), Body: fs.createReadStream(source), ContentLength: size, ContentType: contentType
    }))
  }

  async putBuffer (key: string, body: Buffer, contentType: string): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: this.where.bucket, Key: this.keyOf(key), Body: body, ContentType: contentType }))
  }

  async read (key: string, range?: ByteRange): Promise<Readable | null> {
    try {
      const r = await this.client.send(new GetObjectCommand({
        Bucket: this.where.bucket, Key: this.keyOf(key), ...(range === undefined ? {} : { Range: `bytes=${range.start}-${range.end}` })
      }))
      return r.Body as Readable
    } catch (err) {
      const e = err as { name?: string, $metadata?: { httpStatusCode?: number } }
      if (e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404) return null
      throw err
    }
  }

  async delete (key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.where.bucket, Key: this.keyOf(key) }))
  }

  close (): void {
    this.client.destroy()
  }
}
