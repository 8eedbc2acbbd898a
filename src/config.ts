// Every MQCHAT_* setting (SPEC §1): parsed, validated, defaults with units, frozen.
// This is the only file that reads process.env; over 300 lines because every setting and its
// check is here, in one list a reader can scan (the checks of web push and ICE: config/).
import path from 'node:path'
import { SetupError } from './errors.ts'
import { parseIceServers, urlsOf, type IceServer } from './config/ice.ts'
import { parseVapid, type VapidKeys } from './config/vapid.ts'
import { DEFAULT_RETRY_DELAYS_MS, parseDelays } from './durations.ts'

export interface RateLimit {
  /** tokens added per second */
  perSecond: number
  /** bucket size: how many sends may come at once after a quiet period */
  burst: number
  /** the setting as written, for messages */
  text: string
}

export interface Config {
  httpPort: number
  mqttPort: number
  host: string
  dataDir: string
  adminKey: string | null
  databaseUrl: string | null
  /** connections to PostgreSQL this node may hold */
  databasePoolSize: number
  redisUrl: string | null
  redisPrefix: string
  /** a node that has not renewed its row for this long is gone (its users offline, its leases free) */
  nodeTtlMs: number
  callbackAllowPrivate: boolean
  callbackTimeoutMs: number
  /** the waits between a failed attempt and the next, then the callback is switched off */
  callbackRetryDelaysMs: readonly number[]
  presenceGraceMs: number
  userRate: RateLimit
  /** messages older than this many days are deleted; 0 keeps them (a domain may set its own) */
  retentionDays: number
  logLevel: string
  /** base of file URLs (SPEC §8), without a trailing slash; null: http://localhost:<bound HTTP port> */
  publicUrl: string | null
  /** where uploaded files go: null for the data dir, or an S3 bucket and key prefix */
  storage: S3Location | null
  /** largest upload, in bytes */
  uploadMaxBytes: number
  /** bytes of files (with their thumbnails) one domain may keep */
  storageQuotaBytes: number
  /** SPEC §10.1: the three MQCHAT_VAPID_* settings, or null: a pair generated once and kept in the store */
  vapid: VapidKeys | null
  /** the waits between a failed push and the next, then it is given up */
  pushRetryDelaysMs: readonly number[]
  /** SPEC §10.2: the STUN/TURN servers handed to browsers for RTCPeerConnection */
  iceServers: readonly IceServer[]
  /** coturn's `static-auth-secret`: TURN entries get short-lived credentials made with it */
  turnSecret: string | null
  /** an unanswered call is `missed` after this long (SPEC §10.2: 45 s) */
  callRingMs: number
}

export type { IceServer } from './config/ice.ts'
export type { VapidKeys } from './config/vapid.ts'
export { parseIceServers } from './config/ice.ts'

export interface S3Location {
  bucket: string
  /** key prefix, '' or ending in '/' */
  prefix: string
  /** MQCHAT_S3_ENDPOINT: an S3-compatible store that is not AWS (path-style addressing) */
  endpoint: string | null
  region: string
  /** both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or null for the SDK's default chain */
  credentials: { accessKeyId: string, secretAccessKey: string } | null
}


const KNOWN = new Set([
  'MQCHAT_HTTP_PORT', 'MQCHAT_MQTT_PORT', 'MQCHAT_HOST', 'MQCHAT_DATA_DIR', 'MQCHAT_ADMIN_KEY',
  'MQCHAT_DATABASE_URL', 'MQCHAT_DATABASE_POOL_SIZE', 'MQCHAT_REDIS_URL', 'MQCHAT_REDIS_PREFIX', 'MQCHAT_NODE_TTL_MS', 'MQCHAT_CALLBACK_ALLOW_PRIVATE',
  'MQCHAT_CALLBACK_TIMEOUT_MS', 'MQCHAT_CALLBACK_RETRY_DELAYS', 'MQCHAT_PRESENCE_GRACE_MS', 'MQCHAT_USER_RATE', 'MQCHAT_LOG_LEVEL',
  'MQCHAT_RETENTION_DAYS',
  'MQCHAT_PUBLIC_URL', 'MQCHAT_STORAGE_URL', 'MQCHAT_S3_ENDPOINT', 'MQCHAT_UPLOAD_MAX_BYTES', 'MQCHAT_STORAGE_QUOTA_BYTES',
  'MQCHAT_VAPID_PUBLIC_KEY', 'MQCHAT_VAPID_PRIVATE_KEY', 'MQCHAT_VAPID_SUBJECT', 'MQCHAT_PUSH_RETRY_DELAYS',
  'MQCHAT_ICE_SERVERS', 'MQCHAT_TURN_SECRET', 'MQCHAT_CALL_RING_MS'
])

/** A push that failed is tried again after these waits, then given up (a notification late by more is worth little). */
export const DEFAULT_PUSH_RETRY_DELAYS_MS = [10_000, 60_000, 300_000]

/** SPEC §1: 10 MiB. */
const UPLOAD_MAX_BYTES_DEFAULT = 10 * 1024 * 1024
/** What the product offers each domain: 2 GiB. */
const STORAGE_QUOTA_BYTES_DEFAULT = 2 * 1024 * 1024 * 1024

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

/** An operator key shorter than this is refused: it guards every domain. */
const ADMIN_KEY_MIN_CHARS = 16

type Env = Record<string, string | undefined>

/**
 * Reads the settings from `env`. Every bad setting is reported at once (SetupError.problems),
 * each naming its variable, so an operator fixes them in one go.
 */
export function loadConfig (env: Env = process.env, overrides: Partial<Config> = {}): Readonly<Config> {
  const problems: string[] = []
  const get = (name: string): string | undefined => {
    const v = env[name]
    return v === undefined || v.trim() === '' ? undefined : v.trim()
  }

  function int (name: string, def: number, min: number, max: number, what: string): number {
    const raw = get(name)
    if (raw === undefined) return def
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      problems.push(`${name} must be ${what} (${min} to ${max}), got "${raw}"`)
      return def
    }
    return Number(raw)
  }

  function bool (name: string, def: boolean): boolean {
    const raw = get(name)
    if (raw === undefined) return def
    if (['1', 'true', 'yes'].includes(raw.toLowerCase())) return true
    if (['0', 'false', 'no'].includes(raw.toLowerCase())) return false
    problems.push(`${name} must be 0 or 1, got "${raw}"`)
    return def
  }

  const httpPort = int('MQCHAT_HTTP_PORT', 8080, 0, 65535, 'a port number')
  const mqttPort = int('MQCHAT_MQTT_PORT', 1883, 0, 65535, 'a port number')
  const host = get('MQCHAT_HOST') ?? '0.0.0.0'
  if (/\s/.test(host)) problems.push(`MQCHAT_HOST must be an address or host name, got "${host}"`)
  const dataDir = path.resolve(get('MQCHAT_DATA_DIR') ?? './data')

  const adminKey = get('MQCHAT_ADMIN_KEY') ?? null
  if (adminKey !== null && adminKey.length < ADMIN_KEY_MIN_CHARS) {
    problems.push(`MQCHAT_ADMIN_KEY must be at least ${ADMIN_KEY_MIN_CHARS} characters (it guards every domain); leave it unset to have one generated`)
  }

  const databaseUrl = get('MQCHAT_DATABASE_URL') ?? null
  if (databaseUrl !== null) {
    if (!/^postgres(ql)?:\/\//.test(databaseUrl)) {
      problems.push('MQCHAT_DATABASE_URL must be a postgres:// URL, or unset for the embedded database')
    } else {
      try {
        new URL(databaseUrl) // eslint-disable-line no-new
      } catch {
        problems.push('MQCHAT_DATABASE_URL is not a valid URL (postgres://user:password@host:5432/database)')
      }
    }
  }
  // 10: enough for a node's writer, its claims and the API's reads; PostgreSQL's default
  // max_connections (100) then fits several nodes.
  const databasePoolSize = int('MQCHAT_DATABASE_POOL_SIZE', 10, 2, 1000, 'a number of connections')
  const redisUrl = get('MQCHAT_REDIS_URL') ?? null
  if (redisUrl !== null) {
    if (!/^rediss?:\/\//.test(redisUrl)) {
      problems.push('MQCHAT_REDIS_URL must be a redis:// URL, or unset for a single node')
    } else if (databaseUrl === null) {
      // SPEC §6: PostgreSQL holds what must last; the embedded database is one node's only.
      problems.push('MQCHAT_REDIS_URL needs MQCHAT_DATABASE_URL: several nodes share one PostgreSQL database')
    }
  }
  // SPEC §6: a dead node's users go offline within 30 s: the default 20 s, plus a sweep.
  const nodeTtlMs = int('MQCHAT_NODE_TTL_MS', 20_000, 2_000, 600_000, 'milliseconds')
  // Keys and channels of this cluster in Redis: several clusters (or test runs) may share one Redis.
  const redisPrefix = get('MQCHAT_REDIS_PREFIX') ?? 'mqchat:'
  if (!/^[\w.:-]{1,64}$/.test(redisPrefix)) problems.push(`MQCHAT_REDIS_PREFIX must be 1 to 64 letters, digits, '.', ':', '_' or '-', got "${redisPrefix}"`)

  const callbackAllowPrivate = bool('MQCHAT_CALLBACK_ALLOW_PRIVATE', false)
  const callbackTimeoutMs = int('MQCHAT_CALLBACK_TIMEOUT_MS', 5000, 100, 600_000, 'milliseconds')
  let callbackRetryDelaysMs: readonly number[] = DEFAULT_RETRY_DELAYS_MS
  const delaysRaw = get('MQCHAT_CALLBACK_RETRY_DELAYS')
  if (delaysRaw !== undefined) {
    const parsed = parseDelays(delaysRaw)
    if (typeof parsed === 'string') problems.push(`MQCHAT_CALLBACK_RETRY_DELAYS ${parsed}, got "${delaysRaw}"`)
    else callbackRetryDelaysMs = Object.freeze(parsed)
  }
  const presenceGraceMs = int('MQCHAT_PRESENCE_GRACE_MS', 3000, 0, 3_600_000, 'milliseconds')

  let userRate = parseRate('20/1s,burst=60') as RateLimit
  const rateRaw = get('MQCHAT_USER_RATE')
  if (rateRaw !== undefined) {
    const parsed = parseRate(rateRaw)
    if (typeof parsed === 'string') problems.push(`MQCHAT_USER_RATE ${parsed}, got "${rateRaw}"`)
    else userRate = parsed
  }

  const retentionDays = int('MQCHAT_RETENTION_DAYS', 0, 0, 36_500, 'a number of days, 0 to keep messages forever')

  const logLevel = (get('MQCHAT_LOG_LEVEL') ?? 'info').toLowerCase()
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`MQCHAT_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`)

  let publicUrl: string | null = null
  const publicRaw = get('MQCHAT_PUBLIC_URL')
  if (publicRaw !== undefined) {
    const u = parseUrl(publicRaw)
    if (u === null || !/^https?:$/.test(u.protocol) || u.search !== '' || u.hash !== '' || u.username !== '' || u.password !== '') {
      problems.push(`MQCHAT_PUBLIC_URL must be an http(s) URL without query, fragment or user info (https://chat.example.com), got "${publicRaw}"`)
    } else {
      publicUrl = u.toString().replace(/\/+$/, '')
    }
  }

  let storage: S3Location | null = null
  const storageRaw = get('MQCHAT_STORAGE_URL')
  const endpointRaw = get('MQCHAT_S3_ENDPOINT')
  let endpoint: string | null = null
  if (endpointRaw !== undefined) {
    const u = parseUrl(endpointRaw)
    if (u === null || !/^https?:$/.test(u.protocol)) problems.push(`MQCHAT_S3_ENDPOINT must be an http(s) URL, got "${endpointRaw}"`)
    else endpoint = u.toString().replace(/\/+$/, '')
    if (storageRaw === undefined) problems.push('MQCHAT_S3_ENDPOINT is set but MQCHAT_STORAGE_URL is not: set MQCHAT_STORAGE_URL=s3://bucket/prefix')
  }
  if (storageRaw !== undefined) {
    // s3://bucket/prefix: bucket names are 3-63 lower-case letters, digits, dots and dashes.
    const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(storageRaw)
    if (m === null) {
      problems.push(`MQCHAT_STORAGE_URL must be s3://bucket/prefix (or unset for the data dir), got "${storageRaw}"`)
    } else {
      const prefix = (m[2] ?? '').replace(/^\/+|\/+$/g, '')
      const accessKeyId = env.AWS_ACCESS_KEY_ID
      const secretAccessKey = env.AWS_SECRET_ACCESS_KEY
      storage = {
        bucket: m[1]!,
        prefix: prefix === '' ? '' : `${prefix}/`,
        endpoint,
        region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
        credentials: accessKeyId !== undefined && secretAccessKey !== undefined ? { accessKeyId, secretAccessKey } : null
      }
    }
  }
  const uploadMaxBytes = int('MQCHAT_UPLOAD_MAX_BYTES', UPLOAD_MAX_BYTES_DEFAULT, 1024, 1024 * 1024 * 1024, 'a number of bytes')
  const storageQuotaBytes = int('MQCHAT_STORAGE_QUOTA_BYTES', STORAGE_QUOTA_BYTES_DEFAULT, 0, Number.MAX_SAFE_INTEGER, 'a number of bytes')

  const vapid = parseVapid(get('MQCHAT_VAPID_PUBLIC_KEY'), get('MQCHAT_VAPID_PRIVATE_KEY'), get('MQCHAT_VAPID_SUBJECT'), problems)
  let pushRetryDelaysMs: readonly number[] = DEFAULT_PUSH_RETRY_DELAYS_MS
  const pushDelaysRaw = get('MQCHAT_PUSH_RETRY_DELAYS')
  if (pushDelaysRaw !== undefined) {
    const parsed = parseDelays(pushDelaysRaw)
    if (typeof parsed === 'string') problems.push(`MQCHAT_PUSH_RETRY_DELAYS ${parsed.replace('5s,30s,2m,10m,30m', '10s,1m,5m')}, got "${pushDelaysRaw}"`)
    else pushRetryDelaysMs = Object.freeze(parsed)
  }

  // SPEC §10.2: calls
  let iceServers: readonly IceServer[] = []
  const iceRaw = get('MQCHAT_ICE_SERVERS')
  const turnSecret = get('MQCHAT_TURN_SECRET') ?? null
  let iceBad = false
  if (iceRaw !== undefined) {
    const parsed = parseIceServers(iceRaw, turnSecret !== null)
    if (typeof parsed === 'string') { problems.push(`MQCHAT_ICE_SERVERS ${parsed}`); iceBad = true } else iceServers = parsed
  }
  if (turnSecret !== null && !iceBad && !iceServers.some((s) => urlsOf(s).some((u) => /^turns?:/.test(u)))) {
    problems.push('MQCHAT_TURN_SECRET is set but MQCHAT_ICE_SERVERS has no turn: or turns: entry to make credentials for')
  }
  const callRingMs = int('MQCHAT_CALL_RING_MS', 45_000, 1000, 600_000, 'milliseconds')

  if (problems.length > 0) throw new SetupError(problems)
  return Object.freeze({
    httpPort,
    mqttPort,
    host,
    dataDir,
    adminKey,
    databaseUrl,
    databasePoolSize,
    redisUrl,
    redisPrefix,
    nodeTtlMs,
    callbackAllowPrivate,
    callbackTimeoutMs,
    callbackRetryDelaysMs,
    presenceGraceMs,
    userRate: Object.freeze(userRate),
    retentionDays,
    logLevel,
    publicUrl,
    storage: storage === null ? null : Object.freeze(storage),
    uploadMaxBytes,
    storageQuotaBytes,
    vapid: vapid === null ? null : Object.freeze(vapid),
    pushRetryDelaysMs,
    iceServers,
    turnSecret,
    callRingMs,
    ...overrides
  })
}

function parseUrl (text: string): URL | null {
  try {
    return new URL(text)
  } catch {
    return null
  }
}

/** MQCHAT_* variables that are set but mean nothing to us: most likely typos. */
export function unknownSettings (env: Env = process.env): string[] {
  return Object.keys(env).filter((k) => k.startsWith('MQCHAT_') && !KNOWN.has(k))
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/**
 * Parses `<count>/<window>[,burst=<n>]`, e.g. `20/1s,burst=60`: 20 sends per second on
 * average, up to 60 at once. Returns a description of the problem instead when malformed.
 */
export function parseRate (text: string): RateLimit | string {
  const m = /^\s*(\d+)\s*\/\s*(\d*)\s*(ms|s|m|h)\s*(?:,\s*burst\s*=\s*(\d+)\s*)?$/.exec(text)
  if (m === null) return 'must look like 20/1s,burst=60 (count/window with ms, s, m or h; burst optional)'
  const count = Number(m[1])
  const windowMs = Number(m[2] === '' ? '1' : m[2]) * UNIT_MS[m[3]!]!
  const burst = m[4] === undefined ? count : Number(m[4])
  if (count < 1 || windowMs < 1) return 'must allow at least 1 send per window'
  if (burst < 1) return 'must have a burst of at least 1'
  return { perSecond: (count * 1000) / windowMs, burst, text: text.trim() }
}
