// Serving files (SPEC §8): `/files/{domain}/{id}` and its `/thumbnail`, to whoever holds the
// URL. Served with their stored type and headers that keep a browser from reading them as
// anything else (nosniff, a sandbox CSP), and byte ranges so that records seek.
import type { FastifyInstance } from 'fastify'
import { Type, type Static } from '@sinclair/typebox'
import { DOMAIN_ID_PATTERN } from '../chat/domains.ts'
import { AppError } from '../errors.ts'
import { FILE_ID_RE, parseRange, type Files } from '../files/index.ts'

const FileParams = Type.Object({ domain: Type.String(), id: Type.String() })
const DOMAIN_RE = new RegExp(DOMAIN_ID_PATTERN)
const EXT: Record<string, string> = {
  'image/jpeg': 'jpg', 'image/png': 'png', 'image/gif': 'gif', 'image/webp': 'webp', 'audio/webm': 'webm', 'audio/ogg': 'ogg', 'audio/mp4': 'm4a', 'audio/mpeg': 'mp3'
}

export function fileServeRoutes (app: FastifyInstance, files: Files): void {
  const serve = (which: 'file' | 'thumbnail') => async (req: { params: Static<typeof FileParams>, headers: Record<string, string | string[] | undefined> }, reply: import('fastify').FastifyReply) => {
    const { domain, id } = req.params
    const notFound = new AppError('not_found', 'no such file')
    if (!DOMAIN_RE.test(domain) || !FILE_ID_RE.test(id)) throw notFound
    const row = await files.getFile(domain, id)
    if (row === null || (which === 'thumbnail' && row.thumbnailSize === 0)) throw notFound
    const size = which === 'file' ? row.size : row.thumbnailSize
    void reply
      .header('content-type', row.contentType)
      .header('x-content-type-options', 'nosniff')
      .header('content-security-policy', 'sandbox')
      .header('content-disposition', `inline; filename="${id}${which === 'thumbnail' ? '-thumbnail' : ''}.${EXT[row.contentType] ?? 'bin'}"`)
      // A page on the customer's own site shows it (img, audio), whatever its isolation policy.
      .header('cross-origin-resource-policy', 'cross-origin')
      .header('accept-ranges', 'bytes')
      // A file never changes; it may be deleted (erasure), so caches keep it for a day at most.
      .header('cache-control', 'private, max-age=86400')
      .header('etag', `"${id}${which === 'thumbnail' ? '-t' : ''}"`)
    const range = parseRange(typeof req.headers.range === 'string' ? req.headers.range : undefined, size)
    if (range === 'unsatisfiable') {
      return reply.status(416).header('content-range', `bytes */${size}`).send()
    }
    const body = await files.read(row, which, range ?? undefined)
    if (body === null) throw notFound
    if (range === null) return reply.status(200).header('content-length', size).send(body)
    return reply.status(206)
      .header('content-range', `bytes ${range.start}-${range.end}/${size}`)
      .header('content-length', range.end - range.start + 1)
      .send(body)
  }
  app.get<{ Params: Static<typeof FileParams> }>('/files/:domain/:id', { schema: { hide: true, params: FileParams } }, serve('file'))
  app.get<{ Params: Static<typeof FileParams> }>('/files/:domain/:id/thumbnail', { schema: { hide: true, params: FileParams } }, serve('thumbnail'))
}
