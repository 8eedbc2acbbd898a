// Uploads (SPEC §8): `POST /api/v1/domains/{domain}/files`, with the domain key or a user's
// token, the body the file's bytes (any Content-Type: the bytes decide) or multipart with one
// part named `file`. Registered beside the API rather than in it: the API's hook accepts keys
// only, and this call also takes a user token (see uploaderOf).
import type { FastifyInstance, FastifyRequest } from 'fastify'
import multipart from '@fastify/multipart'
import { Type, type Static } from '@sinclair/typebox'
import type { ChatService } from '../../chat/index.ts'
import { AppError, isAppError } from '../../errors.ts'
import { tooLarge, type Files } from '../../files/index.ts'
import { authenticate } from '../auth.ts'
import { DomainParams, ErrorBody } from '../schemas.ts'

/** Multipart framing (boundaries, part headers) around the file, allowed beyond its limit. */
const MULTIPART_OVERHEAD_BYTES = 16 * 1024

export const UploadedFileSchema = Type.Object({
  id: Type.String({ description: '128 random bits: whoever holds the url may fetch the file' }),
  url: Type.String({ description: 'MQCHAT_PUBLIC_URL/files/{domain}/{id}: send it as the `message` of a type 2, 3 or 4 message' }),
  contentType: Type.String({ description: 'judged by the bytes: image/jpeg, image/png, image/gif, image/webp, audio/webm, audio/ogg, audio/mp4, audio/mpeg' }),
  size: Type.Integer({ description: 'bytes, as stored (pictures are written again without their metadata)' }),
  width: Type.Union([Type.Integer(), Type.Null()]),
  height: Type.Union([Type.Integer(), Type.Null()]),
  durationMs: Type.Union([Type.Integer(), Type.Null()], { description: 'a record\'s length when its container says it' }),
  thumbnailUrl: Type.Union([Type.String(), Type.Null()], { description: 'a picture\'s thumbnail, at most 320 px on its longer side' })
})

export type Uploader = { kind: 'key' } | { kind: 'user', userid: number }

/**
 * Who uploads to `domainId`: the domain key (or the operator key) through the API's usual
 * check, or a user token of that domain (SPEC §2: a valid token of another domain is 404).
 */
export async function uploaderOf (chat: ChatService, req: FastifyRequest, domainId: string): Promise<Uploader> {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')
  const credential = m?.[1]
  // A key first (an operator key may be any string, dots included), then a token.
  const who = credential === undefined ? null : await chat.domains.authenticate(credential)
  if (who !== null) {
    await chat.domains.get(who, domainId)
    return { kind: 'key' }
  }
  // Neither a key nor shaped as a JWT: the API's usual 401 (no header, unknown key).
  if (credential === undefined || credential.split('.').length !== 3) {
    await authenticate(chat.domains, req)
    throw new AppError('unauthorized', 'unknown API key')
  }
  // (as every user-token route: checked with the secret of the domain it names, and refused
  // once its user was erased)
  const p = await chat.domains.authenticateToken(credential)
  if (p !== null && p.kind === 'user') {
    if (p.domainId !== domainId) throw new AppError('not_found', `no domain "${domainId}"`)
    return { kind: 'user', userid: p.userid }
  }
  throw new AppError('unauthorized', 'neither a key nor a valid token of this domain (expired, or not signed with its tokenSecret)')
}

export async function fileUploadRoutes (app: FastifyInstance, chat: ChatService, files: Files, maxBytes: number): Promise<void> {
  // The body is read by the handler, as a stream: no parser buffers it. Multipart is parsed
  // part by part, the file part streamed.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_req, _payload, done) => done(null))
  // One byte over the limit reaches the upload's own count, which refuses it (too_large): at
  // exactly the limit busboy would end the part quietly, truncated, and it would pass as whole.
  await app.register(multipart, { limits: { fileSize: maxBytes + 1, files: 1, fields: 0, parts: 1, headerPairs: 20 } })

  app.post<{ Params: Static<typeof DomainParams> }>('/domains/:domain/files', {
    schema: {
      summary: 'Upload a picture or a voice record',
      description: 'The body is the file\'s bytes (its kind is judged by the bytes, never by the name or the declared type), or multipart/form-data with one part named `file`. Pictures are turned upright and lose their metadata (EXIF, GPS) before they are stored. Authenticate with the domain key or a user\'s token. A file no message carries within 24 h is deleted.',
      tags: ['files'],
      params: DomainParams,
      response: { 201: UploadedFileSchema, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 413: ErrorBody, 415: ErrorBody }
    }
  }, async (req, reply) => {
    const domainId = req.params.domain
    // Refused from the headers alone, the body left unread: the client stops sending on the
    // answer, and the connection is closed rather than drained.
    const refuse = (err: AppError): never => {
      void reply.header('connection', 'close')
      throw err
    }
    try {
      await uploaderOf(chat, req, domainId)
      const declared = Number(req.headers['content-length'] ?? NaN)
      if (declared > maxBytes + (req.isMultipart() ? MULTIPART_OVERHEAD_BYTES : 0)) throw tooLarge(maxBytes)
      await files.checkQuota(domainId)
    } catch (err) {
      if (isAppError(err)) refuse(err)
      throw err
    }
    let body = req.raw as import('node:stream').Readable
    if (req.isMultipart()) {
      const part = await req.file({ throwFileSizeLimit: true }).catch((err) => { throw multipartError(err, maxBytes) })
      if (part === undefined || part.fieldname !== 'file') refuse(new AppError('invalid_request', 'multipart body: send one part named "file"'))
      body = part!.file
    }
    try {
      return reply.status(201).send(await files.upload(domainId, body))
    } catch (err) {
      const e = isAppError(err) ? err : multipartError(err, maxBytes)
      // Not all was read (too large, or refused mid-way): close rather than drain the rest.
      if (!req.raw.readableEnded && isAppError(e)) refuse(e)
      throw e
    }
  })
}

/** @fastify/multipart's and busboy's errors, as ours. */
function multipartError (err: unknown, maxBytes: number): unknown {
  const code = (err as { code?: string }).code
  if (code === 'FST_REQ_FILE_TOO_LARGE') return tooLarge(maxBytes)
  if (code === 'FST_FILES_LIMIT' || code === 'FST_PARTS_LIMIT' || code === 'FST_FIELDS_LIMIT') return new AppError('invalid_request', 'multipart body: send one part named "file", nothing else')
  if (code === 'FST_INVALID_MULTIPART_CONTENT_TYPE') return new AppError('invalid_request', `multipart body: ${(err as Error).message}`)
  return err
}
