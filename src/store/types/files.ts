// The files family (SPEC §8): what we know of the uploaded files, their quota and their sweep.

/** An uploaded file (SPEC §8): its bytes are in the file storage, this is what we know of them. */
export interface FileRow {
  domainId: string
  id: string
  contentType: string
  /** bytes of the file as stored */
  size: number
  /** bytes of its thumbnail, 0 when it has none */
  thumbnailSize: number
  width: number | null
  height: number | null
  durationMs: number | null
  /** unix ms */
  createdAt: number
  /** unix ms: when a message first carried it; null while none has */
  attachedAt: number | null
}

export interface FileStore {
  /** Records an uploaded file (not attached). */
  createFile(f: FileRow): Promise<void>
  getFile(domainId: string, id: string): Promise<FileRow | null>
  /** Bytes of a domain's files with their thumbnails: what its quota counts. */
  storedBytes(domainId: string): Promise<number>
  /**
   * Files no message carries: never attached and uploaded before `unattachedBefore`, or
   * attached once and whose messages are all gone. Up to `limit`, after the key `after`.
   */
  sweepableFiles(unattachedBefore: number, after: { domainId: string, id: string } | null, limit: number): Promise<FileRow[]>
  /**
   * Removes a file's row if it is still sweepable (checked again in the same statement: a
   * message sent meanwhile keeps it). Answers whether it was removed.
   */
  deleteFile(domainId: string, id: string, unattachedBefore: number): Promise<boolean>
}
