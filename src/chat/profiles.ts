// Users' profiles (SPEC §2): name, avatar and link, set by the customer's server (PUT, the
// token call) or carried by the user's token as the standard claims `name`, `picture` and
// `profile` (saved when the user connects). URLs are http(s) only: they end up in `src`
// and `href` attributes of other users' pages.
import { AppError } from '../errors.ts'
import type { ProfilePatch, Store, UserRow } from '../store/index.ts'
import { unixSeconds } from './events.ts'

export const PROFILE_NAME_MAX_CHARS = 200
export const PROFILE_URL_MAX_CHARS = 2048

export interface ProfileInput {
  name?: string
  avatar?: string
  link?: string
}

/** A user as the API shows it: profile and presence. */
export interface UserView {
  userid: number
  name: string | null
  avatar: string | null
  link: string | null
  status: UserRow['status']
  timestamp: number
}

export const userView = (u: UserRow): UserView => ({
  userid: u.userid, name: u.name, avatar: u.avatar, link: u.link, status: u.status, timestamp: unixSeconds(u.changedAt)
})

/** Why `value` is not a usable profile URL, or null. */
export function urlProblem (value: string): string | null {
  if (value.length > PROFILE_URL_MAX_CHARS) return `must be at most ${PROFILE_URL_MAX_CHARS} characters`
  let u: URL
  try {
    u = new URL(value)
  } catch {
    return 'must be an absolute http(s) URL'
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'must be an http(s) URL'
  return null
}

/**
 * The patch for `input` (already of the right types and lengths), or an `invalid_url`
 * naming the field. An empty string clears a field.
 */
export function profilePatch (input: ProfileInput, where = 'body'): ProfilePatch {
  const patch: ProfilePatch = {}
  if (input.name !== undefined) patch.name = input.name === '' ? null : input.name
  for (const field of ['avatar', 'link'] as const) {
    const v = input[field]
    if (v === undefined) continue
    if (v === '') { patch[field] = null; continue }
    const problem = urlProblem(v)
    if (problem !== null) throw new AppError('invalid_url', `${where}.${field} ${problem}`)
    patch[field] = v
  }
  return patch
}

/**
 * The profile a token's claims carry (`name`, `picture`, `profile`); claims that are not
 * usable (not strings, too long, not http(s)) are left out rather than refusing the user.
 */
export function profileFromClaims (claims: Record<string, unknown>): ProfilePatch {
  const patch: ProfilePatch = {}
  const { name, picture, profile } = claims
  if (typeof name === 'string' && name.length <= PROFILE_NAME_MAX_CHARS && name.isWellFormed()) patch.name = name === '' ? null : name
  if (typeof picture === 'string' && urlProblem(picture) === null) patch.avatar = picture
  if (typeof profile === 'string' && urlProblem(profile) === null) patch.link = profile
  return patch
}

export const isEmptyPatch = (p: ProfilePatch): boolean => p.name === undefined && p.avatar === undefined && p.link === undefined

export class Profiles {
  constructor (private readonly store: Store) {}

  async set (domainId: string, userid: number, patch: ProfilePatch, nowMs = Date.now()): Promise<void> {
    await this.store.setProfile(domainId, userid, patch, nowMs)
  }

  async get (domainId: string, userid: number): Promise<UserView> {
    const u = await this.store.getUser(domainId, userid)
    if (u === null) throw new AppError('not_found', `no user ${userid} in this domain`)
    return userView(u)
  }

  async list (domainId: string, q: { status?: UserRow['status'], after?: number, limit: number }): Promise<{ users: UserView[], next: number | null }> {
    const rows = await this.store.listUsers(domainId, q)
    // `next` is given when the page is full: there may be more after it.
    return { users: rows.map(userView), next: rows.length === q.limit ? rows[rows.length - 1]!.userid : null }
  }
}
