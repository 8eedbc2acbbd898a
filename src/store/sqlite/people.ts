// Profiles, conversations, blocks and friends on SQLite (SPEC §2, §3, §10.3). The conversation rows are
// written by `afterMessage` inside the message's own transaction (see index.ts).
import type Database from 'better-sqlite3'
import { type DbConversation, type DbUser, toConversation, toUser } from '../rows.ts'
import { moveReadMarker } from '../read-marker.ts'
import type { ConversationRow, ProfilePatch, ReadResult, UserQuery, UserRow } from '../types.ts'
import type { PresenceSql } from './presence.ts'

const USER_COLS = 'p.userid, p.status, p.changed_at AS changedAt, f.name, f.avatar, f.link'
const USERS = 'presence p LEFT JOIN profiles f ON f.domain_id = p.domain_id AND f.userid = p.userid'

export class PeopleSql {
  private readonly q

  constructor (db: Database.Database, private readonly presence: PresenceSql) {
    this.q = {
      // Each field: the flag says whether the patch sets it (a null clears).
      upsertProfile: db.prepare(`INSERT INTO profiles (domain_id, userid, name, avatar, link, updated_at)
        VALUES (@d, @u, @name, @avatar, @link, @at)
        ON CONFLICT (domain_id, userid) DO UPDATE SET
          name = CASE WHEN @setName THEN excluded.name ELSE name END,
          avatar = CASE WHEN @setAvatar THEN excluded.avatar ELSE avatar END,
          link = CASE WHEN @setLink THEN excluded.link ELSE link END,
          updated_at = excluded.updated_at`),
      getUser: db.prepare(`SELECT ${USER_COLS} FROM ${USERS} WHERE p.domain_id = ? AND p.userid = ?`),
      listUsers: db.prepare(`SELECT ${USER_COLS} FROM ${USERS} WHERE p.domain_id = ? AND p.userid > ? ORDER BY p.userid LIMIT ?`),
      listUsersByStatus: db.prepare(`SELECT ${USER_COLS} FROM ${USERS} WHERE p.domain_id = ? AND p.userid > ? AND p.status = ? ORDER BY p.userid LIMIT ?`),

      convSent: db.prepare(`INSERT INTO conversations (domain_id, userid, peer, last_id) VALUES (?, ?, ?, ?)
        ON CONFLICT (domain_id, userid, peer) DO UPDATE SET last_id = max(last_id, excluded.last_id)`),
      convReceived: db.prepare(`INSERT INTO conversations (domain_id, userid, peer, last_id, unread) VALUES (?, ?, ?, ?, 1)
        ON CONFLICT (domain_id, userid, peer) DO UPDATE SET last_id = max(last_id, excluded.last_id), unread = unread + 1`),
      // One page of conversations_recent, each joined by primary key: peer's marker, last
      // message, peer's presence and profile.
      listConversations: db.prepare(`SELECT c.peer, c.unread, c.read_up_to AS readUpTo, coalesce(o.read_up_to, 0) AS peerReadUpTo,
          m.id AS mId, m.from_userid AS mFrom, m.to_userid AS mTo, m.type AS mType, m.message AS mMessage, m.p1 AS mP1, m.p2 AS mP2, m.p3 AS mP3, m.created_at AS mAt,
          p.status, p.changed_at AS changedAt, f.name, f.avatar, f.link
        FROM conversations c
        LEFT JOIN conversations o ON o.domain_id = c.domain_id AND o.userid = c.peer AND o.peer = c.userid
        LEFT JOIN messages m ON m.id = c.last_id
        LEFT JOIN presence p ON p.domain_id = c.domain_id AND p.userid = c.peer
        LEFT JOIN profiles f ON f.domain_id = c.domain_id AND f.userid = c.peer
        WHERE c.domain_id = ? AND c.userid = ? AND c.last_id < ?
        ORDER BY c.last_id DESC LIMIT ?`),
      getConversation: db.prepare('SELECT last_id AS lastId, read_up_to AS readUpTo FROM conversations WHERE domain_id = ? AND userid = ? AND peer = ?'),
      // Bounded by the unread messages (an index range of messages_pair), not the history.
      countUnread: db.prepare('SELECT count(*) AS n FROM messages WHERE domain_id = ? AND from_userid = ? AND to_userid = ? AND id > ?'),
      setRead: db.prepare('UPDATE conversations SET read_up_to = ?, unread = ? WHERE domain_id = ? AND userid = ? AND peer = ?'),

      oldest: db.prepare('SELECT id, created_at AS at, from_userid AS "from", to_userid AS "to" FROM messages WHERE domain_id = ? ORDER BY id LIMIT ?'),
      deleteUpTo: db.prepare('DELETE FROM messages WHERE domain_id = ? AND id <= ?'),
      dropConversation: db.prepare('DELETE FROM conversations WHERE domain_id = ? AND userid = ? AND peer = ? AND last_id <= ?'),
      // After messages went: what is left above the marker (an index range of messages_pair).
      recount: db.prepare(`UPDATE conversations SET unread = (SELECT count(*) FROM messages m
          WHERE m.domain_id = conversations.domain_id AND m.from_userid = conversations.peer AND m.to_userid = conversations.userid AND m.id > conversations.read_up_to)
        WHERE domain_id = ? AND userid = ? AND peer = ? AND read_up_to < ?`),
      markErased: db.prepare('INSERT INTO erased_users (domain_id, userid, erased_at) VALUES (?, ?, ?) ON CONFLICT (domain_id, userid) DO UPDATE SET erased_at = excluded.erased_at'),
      erasedAt: db.prepare('SELECT erased_at AS at FROM erased_users WHERE domain_id = ? AND userid = ?'),
      eraseSent: db.prepare('DELETE FROM messages WHERE id IN (SELECT id FROM messages WHERE domain_id = ? AND from_userid = ? LIMIT ?)'),
      eraseReceived: db.prepare('DELETE FROM messages WHERE id IN (SELECT id FROM messages WHERE domain_id = ? AND to_userid = ? LIMIT ?)'),
      peersOf: db.prepare('SELECT peer FROM conversations WHERE domain_id = ? AND userid = ?'),
      eraseConversations: db.prepare('DELETE FROM conversations WHERE domain_id = ? AND userid = ?'),
      erasePeerConversation: db.prepare('DELETE FROM conversations WHERE domain_id = ? AND userid = ? AND peer = ?'),
      eraseProfile: db.prepare('DELETE FROM profiles WHERE domain_id = ? AND userid = ?'),
      erasePresence: db.prepare('DELETE FROM presence WHERE domain_id = ? AND userid = ?'),
      eraseBlocks: db.prepare('DELETE FROM blocks WHERE domain_id = ? AND (userid = ? OR peer = ?)'),

      block: db.prepare('INSERT INTO blocks (domain_id, userid, peer, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING'),
      unblock: db.prepare('DELETE FROM blocks WHERE domain_id = ? AND userid = ? AND peer = ?'),
      isBlocked: db.prepare('SELECT 1 FROM blocks WHERE domain_id = ? AND userid = ? AND peer = ?'),

      befriend: db.prepare('INSERT INTO friends (domain_id, userid, peer, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING'),
      unfriend: db.prepare('DELETE FROM friends WHERE domain_id = ? AND userid = ? AND peer = ?'),
      isFriend: db.prepare('SELECT 1 FROM friends WHERE domain_id = ? AND userid = ? AND peer = ?'),
      // A send's check, in its own transaction, one statement as in the PostgreSQL writer's
      // batch (postgres migration 010): 1 the recipient blocked the sender, 2 the domain keeps contacts
      // to friends and they are not, 0 it may go.
      refusal: db.prepare(`SELECT CASE
          WHEN EXISTS (SELECT 1 FROM blocks b WHERE b.domain_id = @domain AND b.userid = @to AND b.peer = @from) THEN 1
          WHEN EXISTS (SELECT 1 FROM domains d WHERE d.id = @domain AND d.contacts = 'friends')
            AND NOT EXISTS (SELECT 1 FROM friends f WHERE f.domain_id = @domain AND f.userid = @from AND f.peer = @to) THEN 2
          ELSE 0 END AS r`),
      // A range of the friends key, each joined by primary key: presence and profile.
      listFriends: db.prepare(`SELECT fr.peer AS userid, p.status, p.changed_at AS changedAt, f.name, f.avatar, f.link
        FROM friends fr
        LEFT JOIN presence p ON p.domain_id = fr.domain_id AND p.userid = fr.peer
        LEFT JOIN profiles f ON f.domain_id = fr.domain_id AND f.userid = fr.peer
        WHERE fr.domain_id = ? AND fr.userid = ? ORDER BY fr.peer`),
      // Rows are mutual: the user's range of the key, then each mirror row by its key.
      eraseFriendsMirror: db.prepare('DELETE FROM friends WHERE domain_id = ? AND peer = ? AND userid IN (SELECT peer FROM friends WHERE domain_id = ? AND userid = ?)'),
      eraseFriends: db.prepare('DELETE FROM friends WHERE domain_id = ? AND userid = ?')
    }
  }

  setProfile (domainId: string, userid: number, patch: ProfilePatch, at: number): void {
    this.presence.ensureUser(domainId, userid, at)
    this.q.upsertProfile.run({
      d: domainId,
      u: userid,
      name: patch.name ?? null,
      avatar: patch.avatar ?? null,
      link: patch.link ?? null,
      setName: patch.name !== undefined ? 1 : 0,
      setAvatar: patch.avatar !== undefined ? 1 : 0,
      setLink: patch.link !== undefined ? 1 : 0,
      at
    })
  }

  getUser (domainId: string, userid: number): UserRow | null {
    const r = this.q.getUser.get(domainId, userid) as DbUser | undefined
    return r === undefined ? null : toUser(r)
  }

  listUsers (domainId: string, q: UserQuery): UserRow[] {
    const after = q.after ?? 0
    const rows = (q.status === undefined
      ? this.q.listUsers.all(domainId, after, q.limit)
      : this.q.listUsersByStatus.all(domainId, after, q.status, q.limit)) as DbUser[]
    return rows.map(toUser)
  }

  /** In the message's transaction: both users' conversation rows. */
  afterMessage (domainId: string, from: number, to: number, id: number): void {
    this.q.convSent.run(domainId, from, to, id)
    if (from !== to) this.q.convReceived.run(domainId, to, from, id)
  }

  listConversations (domainId: string, userid: number, q: { limit: number, before?: number }): ConversationRow[] {
    const rows = this.q.listConversations.all(domainId, userid, q.before ?? Number.MAX_SAFE_INTEGER, q.limit) as DbConversation[]
    return rows.map((r) => toConversation(r, domainId))
  }

  /** Runs inside a write (the group commit): no message of the pair can land in between. */
  markRead (domainId: string, userid: number, peer: number, upTo: number): ReadResult {
    const move = moveReadMarker(this.q.getConversation.get(domainId, userid, peer) as { lastId: number, readUpTo: number } | undefined, upTo)
    if (!move.ok) return move.refusal
    const unread = userid === peer ? 0 : (this.q.countUnread.get(domainId, peer, userid, upTo) as { n: number }).n
    if (!move.changes) return { ok: true, changed: false, readUpTo: upTo, unread }
    this.q.setRead.run(upTo, unread, domainId, userid, peer)
    return { ok: true, changed: true, readUpTo: upTo, unread }
  }

  /**
   * One retention batch: the domain's oldest `limit` messages, of which the run older than
   * `olderThanMs` goes. Trade-off: messages are taken in id order, which follows time, so a
   * batch is a short range of messages_domain (no index on time, nothing scanned past the
   * cut); a message whose id is out of time order (clock skew between nodes) waits for the
   * next pass behind the first newer one.
   */
  pruneBatch (domainId: string, olderThanMs: number, limit: number): { deleted: number, more: boolean } {
    const rows = this.q.oldest.all(domainId, limit) as Array<{ id: number, at: number, from: number, to: number }>
    let n = 0
    while (n < rows.length && rows[n]!.at < olderThanMs) n++
    if (n === 0) return { deleted: 0, more: false }
    const upTo = rows[n - 1]!.id
    this.q.deleteUpTo.run(domainId, upTo)
    const pairs = new Map<string, [number, number]>()
    for (const r of rows.slice(0, n)) pairs.set(`${r.from}/${r.to}`, [r.from, r.to])
    for (const [from, to] of pairs.values()) {
      this.q.dropConversation.run(domainId, from, to, upTo)
      if (from === to) continue
      this.q.dropConversation.run(domainId, to, from, upTo)
      this.q.recount.run(domainId, to, from, upTo)
    }
    return { deleted: n, more: n === limit }
  }

  /** Erasure, first step: from now on the user's older tokens are refused. */
  markErased (domainId: string, userid: number, at: number): void {
    this.q.markErased.run(domainId, userid, at)
  }

  /** Erasure: up to `limit` of the user's messages each way; answers how many went. */
  eraseMessagesBatch (domainId: string, userid: number, limit: number): number {
    return this.q.eraseSent.run(domainId, userid, limit).changes + this.q.eraseReceived.run(domainId, userid, limit).changes
  }

  /** Erasure, last step: conversations (both sides), profile, presence, blocks, friendships. */
  eraseRest (domainId: string, userid: number): void {
    for (const { peer } of this.q.peersOf.all(domainId, userid) as Array<{ peer: number }>) this.q.erasePeerConversation.run(domainId, peer, userid)
    this.q.eraseConversations.run(domainId, userid)
    this.q.eraseProfile.run(domainId, userid)
    this.q.erasePresence.run(domainId, userid)
    this.q.eraseBlocks.run(domainId, userid, userid)
    this.q.eraseFriendsMirror.run(domainId, userid, domainId, userid)
    this.q.eraseFriends.run(domainId, userid)
  }

  erasedAt (domainId: string, userid: number): number | null {
    return (this.q.erasedAt.get(domainId, userid) as { at: number } | undefined)?.at ?? null
  }

  setBlock (domainId: string, userid: number, peer: number, blocked: boolean, at: number): void {
    if (blocked) this.q.block.run(domainId, userid, peer, at)
    else this.q.unblock.run(domainId, userid, peer)
  }

  isBlocked (domainId: string, userid: number, peer: number): boolean {
    return this.q.isBlocked.get(domainId, userid, peer) !== undefined
  }

  /** Runs inside a write: both directions in its one transaction. */
  setFriend (domainId: string, userid: number, peer: number, friends: boolean, at: number): void {
    if (friends) {
      this.q.befriend.run(domainId, userid, peer, at)
      this.q.befriend.run(domainId, peer, userid, at)
    } else {
      this.q.unfriend.run(domainId, userid, peer)
      this.q.unfriend.run(domainId, peer, userid)
    }
  }

  listFriends (domainId: string, userid: number): UserRow[] {
    return (this.q.listFriends.all(domainId, userid) as DbUser[]).map(toUser)
  }

  areFriends (domainId: string, userid: number, peer: number): boolean {
    return this.q.isFriend.get(domainId, userid, peer) !== undefined
  }

  /** Why a message from `from` to `to` is refused: 'blocked', 'not friends', or null when it may go (a note to self always may). */
  refusal (domainId: string, from: number, to: number): 'blocked' | 'not friends' | null {
    if (from === to) return null
    const r = (this.q.refusal.get({ domain: domainId, from, to }) as { r: number }).r
    return r === 1 ? 'blocked' : r === 2 ? 'not friends' : null
  }
}
