// Where file bytes live (SPEC §8): the data dir, or an S3-compatible store. One small
// interface, two implementations, one conformance suite (test/storage.conformance.ts) that
// both pass. Keys are made by the server alone (`<domain>/<random id>[.thumb]`), never from a
// path or name a user chose.
import type { Readable } from 'node:stream'

export interface ByteRange {
  /** first byte, inclusive */
  start: number
  /** last byte, inclusive */
  end: number
}

export interface FileStorage {
  readonly kind: 'disk' | 's3'
  /** Stores the local file `source` under `key` (the source is left for the caller to remove). */
  putFile(key: string, source: string, contentType: string): Promise<void>
  /** Stores a small body held in memory (a thumbnail). */
  putBuffer(key: string, body: Buffer, contentType: string): Promise<void>
  /** The bytes of `key` (all, or one range), or null when there is no such key. */
  read(key: string, range?: ByteRange): Promise<Readable | null>
  /** Removes `key`; removing what is not there is not an error. */
  delete(key: string): Promise<void>
}

/** Keys: `<domain>/<id>`, and `<domain>/<id>.thumb` for a picture's thumbnail. */
export const fileKey = (domainId: string, id: string): string => `${domainId}/${id}`
export const thumbnailKey = (domainId: string, id: string): string => `${domainId}/${id}.thumb`
