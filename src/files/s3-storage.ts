// Files in an S3-compatible object store (MQCHAT_STORAGE_URL=s3://bucket/prefix). Uploads
// are streamed from the local temporary file with their length, so no file is held in memory.
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import type { Readable } from 'node:stream'
import { DeleteObjectCommand, GetObjectCommand, HeadBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { SetupError } from '../errors.ts'
import type { S3Location } from '../config.ts'
import type { ByteRange, FileStorage } from './storage.ts'

/** How long the start-up check waits for the store. */
const CHECK_TIMEOUT_MS = 10_000

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

  /**
   * At start-up: the bucket answers with these credentials. A wrong bucket, endpoint or key
   * stops the server naming the setting, rather than failing every upload later.
   */
  async check (): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.where.bucket }), { abortSignal: AbortSignal.timeout(CHECK_TIMEOUT_MS) })
    } catch (err) {
      const e = err as { name?: string, message?: string, $metadata?: { httpStatusCode?: number } }
      const status = e.$metadata?.httpStatusCode
      const why = status === 404 ? 'no such bucket' : status === 403 ? 'access denied (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)' : `${e.name ?? 'error'}${e.message ? `: ${e.message}` : ''}`
      throw new SetupError(`MQCHAT_STORAGE_URL: bucket "${this.where.bucket}"${this.where.endpoint === null ? '' : ` at ${this.where.endpoint} (MQCHAT_S3_ENDPOINT)`}: ${why}`)
    }
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

