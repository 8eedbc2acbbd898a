// Which driver errors mean "the database cannot be reached" (SPEC §6: answered `unavailable`,
// never a crash), as opposed to a statement the database refused.
import { AppError } from '../../errors.ts'

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'])

export function isUnavailable (err: unknown): boolean {
  if (err instanceof AppError) return err.code === 'unavailable'
  const e = err as { code?: unknown, message?: unknown }
  const code = typeof e?.code === 'string' ? e.code : ''
  // SQLSTATE class 08: connection exception; 57P01-03: the server is shutting down or
  // terminated us (pg_terminate_backend); 53300: too many connections.
  if (/^08/.test(code) || /^57P0[123]$/.test(code) || code === '53300' || NETWORK_CODES.has(code)) return true
  const message = typeof e?.message === 'string' ? e.message : ''
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Query read timeout|not queryable/i.test(message)
}

export function unavailable (cause: unknown): AppError {
  const err = new AppError('unavailable', 'the database cannot be reached; try again shortly')
  ;(err as { cause?: unknown }).cause = cause
  return err
}
