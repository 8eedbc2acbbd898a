// Erasing a user (SPEC §2 DELETE …/users/{userid}): its profile, presence, every message from
// or to it, its conversations, blocks and friendships; its tokens stop working. Events already written
// (callback bodies) stay until their own retention.
import type { Logger } from '../log.ts'
import type { Store } from '../store/index.ts'
import type { Notifier } from './notifier.ts'

/** Beyond the grace time, how long erasure waits for a connected user's `offline`. */
const OFFLINE_WAIT_EXTRA_MS = 5000
const OFFLINE_POLL_MS = 50

/**
 * Tokens minted up to the erasure's second stop working (`iat` is in whole seconds, so the
 * erasure's own second is on the safe side); one without `iat` cannot tell and is refused.
 */
export function tokenErased (iat: unknown, erasedAtMs: number | null): boolean {
  if (erasedAtMs === null) return false
  return typeof iat !== 'number' || iat <= Math.floor(erasedAtMs / 1000)
}

/** The `iat` of a token minted now: after the user's erasure's second, so that it works. */
export function issuedAt (nowMs: number, erasedAtMs: number | null): number {
  const now = Math.floor(nowMs / 1000)
  return erasedAtMs === null ? now : Math.max(now, Math.floor(erasedAtMs / 1000) + 1)
}

export class Erasure {
  constructor (
    private readonly store: Store,
    private readonly notifier: Notifier,
    private readonly graceMs: number,
    private readonly log: Logger
  ) {}

  /** Erases the user; answers how many messages went. */
  async erase (domainId: string, userid: number): Promise<number> {
    const present = ((await this.store.getPresence(domainId, userid))?.status ?? 'offline') !== 'offline'
    const friends = (await this.store.listFriends(domainId, userid)).map((u) => u.userid)
    // Its tokens are refused from here on, then its data goes.
    let messages = await this.store.eraseUser(domainId, userid, Date.now())
    // Its friendships went with it: its friends' presence filters forget it (SPEC §10.3).
    await this.notifier.friendsChanged(domainId, [userid, ...friends])
    // Its connections close (on every node: the notifier carries it) like any others.
    this.notifier.userErased(domainId, userid)
    if (present) {
      // Its `offline` is written (and called back) after the grace time; then that last row
      // goes too, with anything it sent meanwhile.
      const deadline = Date.now() + this.graceMs + OFFLINE_WAIT_EXTRA_MS
      while (Date.now() < deadline && (await this.store.getPresence(domainId, userid))?.status !== 'offline') {
        await new Promise((resolve) => setTimeout(resolve, OFFLINE_POLL_MS))
      }
      messages += await this.store.eraseUser(domainId, userid, Date.now())
    }
    this.log.info({ domainId, userid, messages, wasPresent: present }, 'user erased')
    return messages
  }
}
