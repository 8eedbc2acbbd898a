// The user's token (SPEC §2 Tokens): the one the connection and every REST call present,
// renewed from the site's getToken() before it expires, and dropped at once when the server
// refuses it.
import { backoffMs, claimsOf, type Claims } from './logic.ts'

/** A token is renewed this long before it expires (or halfway, for short tokens). */
const RENEW_BEFORE_MS = 60_000

export class ChatError extends Error {
  constructor (readonly code: string, message: string) { super(message) }
}

export class Session {
  readonly userid: number
  private timer: ReturnType<typeof setTimeout> | null = null
  private closed = false

  constructor (private readonly getToken: () => string | Promise<string>, public token: string, private claims: Claims) {
    this.userid = Number(claims.sub)
  }

  /** Too close to its expiry to be presented: renew first. */
  get expiring (): boolean {
    return this.claims.exp * 1000 - Date.now() < RENEW_BEFORE_MS / 2
  }

  /** The token, renewed first if it is about to expire. */
  async current (): Promise<string> {
    if (this.expiring) await this.renew()
    return this.token
  }

  /** The server refused it (a CONNECT): a fresh one is asked for before the next try. */
  refused (): void {
    this.claims = { ...this.claims, exp: 0 }
  }

  async renew (): Promise<void> {
    const token = await this.getToken()
    const claims = claimsOf(token)
    if (Number(claims.sub) !== this.userid) throw new ChatError('not_authorized', 'the new token is for another user')
    this.token = token
    this.claims = claims
    this.schedule()
  }

  /** Renews ahead of the expiry, again and again until closed. */
  schedule (): void {
    if (this.timer !== null) clearTimeout(this.timer)
    if (this.closed) return
    const left = this.claims.exp * 1000 - Date.now()
    const wait = Math.max(1000, Math.min(left - RENEW_BEFORE_MS, left / 2))
    // Timers cannot wait more than ~24.8 days; a long token is renewed sooner than needed.
    this.timer = setTimeout(() => { void this.renew().catch(() => this.retry()) }, Math.min(wait, 2 ** 31 - 1))
  }

  private retry (): void {
    if (this.closed) return
    this.timer = setTimeout(() => { void this.renew().catch(() => this.retry()) }, backoffMs(2, Math.random()))
  }

  close (): void {
    this.closed = true
    if (this.timer !== null) clearTimeout(this.timer)
  }
}
