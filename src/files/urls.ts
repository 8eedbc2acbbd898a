// File URLs (SPEC §8): `<MQCHAT_PUBLIC_URL>/files/<domain>/<id>`. Pure.
import { randomBytes } from 'node:crypto'

/** 16 random bytes, base64url: 128 bits nobody can guess (SPEC §8). */
export const newFileId = (): string => randomBytes(16).toString('base64url')
export const FILE_ID_RE = /^[A-Za-z0-9_-]{22}$/

export const fileUrl = (publicUrl: string, domainId: string, id: string): string => `${publicUrl}/files/${domainId}/${id}`
export const thumbnailUrl = (publicUrl: string, domainId: string, id: string): string => `${fileUrl(publicUrl, domainId, id)}/thumbnail`

/**
 * The id of the file `url` names, if it is a file URL of this server and of `domainId`
 * exactly (no other host, domain, path, query or fragment); otherwise null.
 */
export function fileIdOfUrl (publicUrl: string, domainId: string, url: string): string | null {
  const prefix = `${publicUrl}/files/${domainId}/`
  if (!url.startsWith(prefix)) return null
  const id = url.slice(prefix.length)
  return FILE_ID_RE.test(id) ? id : null
}
