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
  // SPEC §8: an upload over MQCHAT_UPLOAD_MAX_BYTES, or a picture over 40 megapixels
  too_large: 413,
  // SPEC §8: the domain's files would pass MQCHAT_STORAGE_QUOTA_BYTES
  quota_exceeded: 413,
  // SPEC §3: a message of type 2-4 whose `message` is not the URL of a file of its domain
  invalid_attachment: 400,
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

/**
 * The server cannot start as it is set up: a setting is wrong, or what one points at cannot
 * be used (a port taken, a database or a bucket that does not answer). Each problem is one
 * line that names the setting to change; main.ts prints them and exits, without a stack,
 * which would help no operator.
 */
export class SetupError extends Error {
  readonly problems: string[]
  constructor (problems: string | string[], cause?: unknown) {
    const list = typeof problems === 'string' ? [problems] : problems
    super(list.join('; '), { cause })
    this.name = 'SetupError'
    this.problems = list
  }
}

export function isAppError (err: unknown): err is AppError {
  return err instanceof AppError
}

/** SPEC §3: the answer to a message whose recipient blocked its sender (both stores refuse it). */
export const blockedError = (toUserid: number): AppError =>
  new AppError('blocked', `user ${toUserid} does not accept your messages`)

/** SPEC §10.3: the answer to a message to a non-friend in a domain whose contacts are friends (both stores refuse it). */
export const notFriendError = (toUserid: number): AppError =>
  new AppError('forbidden', `user ${toUserid} is not your friend`)
