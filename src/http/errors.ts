// Every error leaves as `{"error":{"code","message"}}` with its status (SPEC §2). Anything
// not ours becomes `internal`, and its stack goes to the log only.
import http from 'node:http'
import type { Duplex } from 'node:stream'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { describeValidationError } from '../chat/schemas.ts'
import { AppError, isAppError, STATUS_BY_CODE, type ErrorCode } from '../errors.ts'

/** fastify's own errors, by code, as ours. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_request'
}

export function toAppError (err: FastifyError): AppError {
  if (isAppError(err)) return err
  if (err.validation !== undefined) {
    return new AppError('invalid_request', describeValidationError(err.validation as never, err.validationContext))
  }
  const code = FASTIFY_CODES[err.code]
  if (code !== undefined) {
    const message = code === 'invalid_json'
      ? `the body is not valid JSON: ${err.message}`
      : code === 'unsupported_media_type' ? 'send the body as Content-Type: application/json' : err.message
    return new AppError(code, message)
  }
  if (err instanceof SyntaxError) return new AppError('invalid_json', `the body is not valid JSON: ${err.message}`)
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    return new AppError('invalid_request', err.message)
  }
  return new AppError('internal', 'internal error')
}

/** An error as every answer carries it: its code's status, `{"error":{"code","message"}}`. */
export function sendError (reply: FastifyReply, e: AppError): FastifyReply {
  return reply.status(STATUS_BY_CODE[e.code]).send({ error: e.toJSON() })
}

export function errorHandler (err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  const e = toAppError(err)
  if (e.code === 'internal') req.log.error({ err }, 'request failed')
  void sendError(reply, e)
}

/**
 * Node's HTTP parser refuses some requests before fastify sees them; fastify's own answer is
 * `{"error":"Request Header Fields Too Large",…}`. Same cases, the contract's shape.
 */
export function clientErrorHandler (err: Error & { code?: string }, socket: Duplex): void {
  // A reset peer has nothing left to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  const [status, e] = err.code === 'HPE_HEADER_OVERFLOW'
    ? [431, new AppError('headers_too_large', `the request headers are over the ${Math.round(http.maxHeaderSize / 1024)} KiB limit`)]
    : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, new AppError('invalid_request', 'the request did not arrive in time')]
      : [400, new AppError('invalid_request', 'the request is not valid HTTP')]
  const body = JSON.stringify({ error: e.toJSON() })
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${body}`)
  }
  socket.destroy()
}

/**
 * The first key of a parsed JSON value that would change an object's prototype if code
 * merged it: `__proto__`, or `constructor` holding `prototype` (as secure-json-parse judges
 * them). Walked without recursion: a 256 KiB body can nest deeper than the stack.
 */
export function forbiddenKey (value: unknown): string | null {
  const stack: unknown[] = [value]
  while (stack.length > 0) {
    const v = stack.pop()
    if (typeof v !== 'object' || v === null) continue
    if (!Array.isArray(v)) {
      if (Object.hasOwn(v, '__proto__')) return '__proto__'
      const c = Object.hasOwn(v, 'constructor') ? (v as { constructor: unknown }).constructor : undefined
      if (typeof c === 'object' && c !== null && Object.hasOwn(c, 'prototype')) return 'constructor'
    }
    for (const child of Object.values(v)) stack.push(child)
  }
  return null
}

export function notFoundHandler (req: FastifyRequest, reply: FastifyReply): void {
  void sendError(reply, new AppError('not_found', `no route ${req.method} ${req.url.split('?')[0]}`))
}
