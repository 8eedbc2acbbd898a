// One error type carrying a snake_case code; each code's HTTP status is defined here, once
// (SPEC §2: `{"error":{"code","message"}}`). MQTT acks carry the same codes.

export const STATUS_BY_CODE = {
  invalid_request: 400,
  invalid_json: 400,
  invalid_url: 400,
  forbidden_target: 400,
  unauthorized: 401,
  forbidden: 403,
  // SPEC §3: the recipient blocked the sender
  blocked: 403,
  not_found: 404,
  domain_exists: 409,
  callback_disabled: 409,
  payload_too_large: 413,
  headers_too_large: 431,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal: 500,
  // SPEC §6: the database cannot be reached; nothing was stored
  unavailable: 503
} as const

export type ErrorCode = keyof typeof STATUS_BY_CODE

export class AppError extends Error {
  readonly code: ErrorCode
  constructor (code: ErrorCode, message: string) {
    super(message)
    this.name = 'AppError'
    this.code = code
  }

  toJSON (): { code: ErrorCode, message: string } {
    return { code: this.code, message: this.message }
  }
}

export function isAppError (err: unknown): err is AppError {
  return err instanceof AppError
}
