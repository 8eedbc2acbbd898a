// Profiles, conversations, blocks and friends on PostgreSQL (SPEC §2, §3, §10.3). The conversation rows of
// a batch of messages are written by the writer's call (migration 010), in its transaction.
import type pg from 'pg'
import { type DbUser, toConversation, toUser } from '../rows.ts'
import { moveReadMarker } from '../read-marker.ts'
import type { ConversationRow, ProfilePatch, ReadResult, UserQuery, UserRow } from '../types.ts'
import type { Query, Tx } from './tx.ts'

const USER_COLS = 'p.userid, p.status, p.changed_at AS "changedAt", f.name, f.avatar, f.link'
const USERS = 'presence p LEFT JOIN profiles f ON f.domain_id = p.domain_id AND f.userid = p.userid'

/** The writer's advisory lock key of a sender (writer.ts): a read marker takes the peer's. */
export const userLockKey = (domainId: string, userid: number): string => `${domainId}/${userid}`

export class PeoplePg {
  constructor (private readonly q: Query, private readonly tx: Tx) {}

  async setProfile (domainId: string, userid: number, patch: ProfilePatch, at: number): Promise<void> {
    await this.q(`WITH u AS (INSERT INTO presence (domain_id, userid, status, changed_at) VALUES ($1, $2, 'offline', $3) ON CONFLICT DO NOTHING)
      INSERT INTO profiles (domain_id, userid, name, avatar, link, updated_at) VALUES ($1, $2, $4, $5, $6, $3)
      ON CONFLICT (domain_id, userid) DO UPDATE SET
        name = CASE WHEN $7 THEN excluded.name ELSE profiles.name END,
        avatar = CASE WHEN $8 THEN excluded.avatar ELSE profiles.avatar END,
        link = CASE WHEN $9 THEN excluded.link ELSE profiles.link END,
        updated_at = excluded.updated_at`,
    [domainId, userid, at, patch.name ?? null, patch.avatar ?? null, patch.link ?? null,
      patch.name !== undefined, patch.avatar !== undefined, patch.link !== undefined])
  }

  async getUser (domainId: string, userid: number): Promise<UserRow | null> {
    const r = (await this.q(`SELECT ${USER_COLS} FROM ${USERS} WHERE p.domain_id = $1 AND p.userid = $2`, [domainId, userid])).rows[0]
    return r === undefined ? null : toUser(r)
  }

  async listUsers (domainId: string, q: UserQuery): Promise<UserRow[]> {
    const rows = q.status === undefined
      ? (await this.q(`SELECT ${USER_COLS} FROM ${USERS} WHERE p.domain_id = $1 AND p.userid > $2 ORDER BY p.userid LIMIT $3`, [domainId, q.after ?? 0, q.limit])).rows
      : (await this.q(`SELECT ${USER_COLS} FROM ${USERS} WHERE p.domain_id = $1 AND p.userid > $2 AND p.status = $4 ORDER BY p.userid LIMIT $3`, [domainId, q.after ?? 0, q.limit, q.status])).rows
    return rows.map(toUser)
  }

  async listConversations (domainId: string, userid: number, q: { limit: number, before?: number }): Promise<ConversationRow[]> {
    const rows = (await this.q(`SELECT c.peer, c.unread, c.read_up_to AS "readUpTo", coalesce(o.read_up_to, 0) AS "peerReadUpTo",
          m.id AS "mId", m.from_userid AS "mFrom", m.to_userid AS "mTo", m.type AS "mType", m.message AS "mMessage", m.p1 AS "mP1", m.p2 AS "mP2", m.p3 AS "mP3", m.created_at AS "mAt",
          p.status, p.changed_at AS "changedAt", f.name, f.avatar, f.link
        FROM conversations c
        LEFT JOIN conversations o ON o.domain_id = c.domain_id AND o.userid = c.peer AND o.peer = c.userid
        LEFT JOIN messages m ON m.id = c.last_id
        LEFT JOIN presence p ON p.domain_id = c.domain_id AND p.userid = c.peer
        LEFT JOIN profiles f ON f.domain_id = c.domain_id AND f.userid = c.peer
        WHERE c.domain_id = $1 AND c.userid = $2 AND c.last_id < $3
        ORDER BY c.last_id DESC LIMIT $4`, [domainId, userid, q.before ?? Number.MAX_SAFE_INTEGER, q.limit])).rows
    return rows.map((r) => toConversation(r, domainId))
  }

  markRead (domainId: string, userid: number, peer: number, upTo: number): Promise<ReadResult> {
    return this.tx(async (c) => {
      // The peer's sends take this lock in the writer before they touch this row: with it,
      // no message from the peer commits between the count and the update.
      await c.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [userLockKey(domainId, peer)])
      const row = (await c.query('SELECT last_id AS "lastId", read_up_to AS "readUpTo" FROM conversations WHERE domain_id = $1 AND userid = $2 AND peer = $3 FOR UPDATE',
        [domainId, userid, peer])).rows[0] as { lastId: number, readUpTo: number } | undefined
      const move = moveReadMarker(row, upTo)
      if (!move.ok) return move.refusal
      // Bounded by the unread messages (an index range of messages_pair), not the history.
      const unread = userid === peer
        ? 0
        : Number((await c.query('SELECT count(*) AS n FROM messages WHERE domain_id = $1 AND from_userid = $2 AND to_userid = $3 AND id > $4', [domainId, peer, userid, upTo])).rows[0].n)
      if (!move.changes) return { ok: true, changed: false, readUpTo: upTo, unread }
      await c.query('UPDATE conversations SET read_up_to = $4, unread = $5 WHERE domain_id = $1 AND userid = $2 AND peer = $3', [domainId, userid, peer, upTo, unread])
      return { ok: true, changed: true, readUpTo: upTo, unread }
    })
  }

  /**
   * Retention: the domain's oldest messages, in batches of `limit`, as long as they are
   * older than `olderThanMs`. Trade-off: taken in id order, which follows time, so a batch
   * is a short range of messages_domain with no index on time and nothing scanned past the
   * cut; a message whose id is out of time order (clock skew between nodes) waits for the
   * next pass behind the first newer one.
   */
  async pruneMessages (domainId: string, olderThanMs: number, limit: number): Promise<number> {
    let deleted = 0
    for (;;) {
      const n = await this.tx(async (c) => {
        const rows = (await c.query('SELECT id, created_at AS at, from_userid AS "from", to_userid AS "to" FROM messages WHERE domain_id = $1 ORDER BY id LIMIT $2',
          [domainId, limit])).rows as Array<{ id: number, at: number, from: number, to: number }>
        let n = 0
        while (n < rows.length && rows[n]!.at < olderThanMs) n++
        if (n === 0) return 0
        const upTo = rows[n - 1]!.id
        const pairs = new Map<string, [number, number]>()
        for (const r of rows.slice(0, n)) pairs.set(`${r.from}/${r.to}`, [r.from, r.to])
        // Both users of each pair, as the writer locks senders: no message of theirs
        // commits between the recount and this commit.
        await lockUsers(c, domainId, [...pairs.values()].flat())
        await c.query('DELETE FROM messages WHERE domain_id = $1 AND id <= $2', [domainId, upTo])
        const [from, to] = [[...pairs.values()].map((p) => p[0]), [...pairs.values()].map((p) => p[1])]
        await c.query(`DELETE FROM conversations c USING unnest($2::bigint[], $3::bigint[]) AS x(f, t)
          WHERE c.domain_id = $1 AND ((c.userid = x.f AND c.peer = x.t) OR (c.userid = x.t AND c.peer = x.f)) AND c.last_id <= $4`, [domainId, from, to, upTo])
        await c.query(`UPDATE conversations c SET unread = (SELECT count(*) FROM messages m
            WHERE m.domain_id = c.domain_id AND m.from_userid = c.peer AND m.to_userid = c.userid AND m.id > c.read_up_to)
          FROM unnest($2::bigint[], $3::bigint[]) AS x(f, t)
          WHERE c.domain_id = $1 AND c.userid = x.t AND c.peer = x.f AND x.f <> x.t AND c.read_up_to < $4`, [domainId, from, to, upTo])
        return n
      })
      deleted += n
      if (n < limit) return deleted
    }
  }

  async eraseUser (domainId: string, userid: number, at: number, limit: number): Promise<number> {
    await this.q('INSERT INTO erased_users (domain_id, userid, erased_at) VALUES ($1, $2, $3) ON CONFLICT (domain_id, userid) DO UPDATE SET erased_at = excluded.erased_at', [domainId, userid, at])
    let deleted = 0
    for (const col of ['from_userid', 'to_userid']) {
      for (;;) {
        const n = (await this.q(`DELETE FROM messages WHERE id IN (SELECT id FROM messages WHERE domain_id = $1 AND ${col} = $2 LIMIT $3)`, [domainId, userid, limit])).rowCount ?? 0
        deleted += n
        if (n < limit) break
      }
    }
    await this.tx(async (c) => {
      await c.query(`DELETE FROM conversations c USING (SELECT peer FROM conversations WHERE domain_id = $1 AND userid = $2) p
        WHERE c.domain_id = $1 AND c.userid = p.peer AND c.peer = $2`, [domainId, userid])
      await c.query('DELETE FROM conversations WHERE domain_id = $1 AND userid = $2', [domainId, userid])
      await c.query('DELETE FROM profiles WHERE domain_id = $1 AND userid = $2', [domainId, userid])
      await c.query('DELETE FROM presence WHERE domain_id = $1 AND userid = $2', [domainId, userid])
      await c.query('DELETE FROM blocks WHERE domain_id = $1 AND (userid = $2 OR peer = $2)', [domainId, userid])
      // Rows are mutual: each mirror row by its key, then the user's range.
      await c.query(`DELETE FROM friends f USING (SELECT peer FROM friends WHERE domain_id = $1 AND userid = $2) p
        WHERE f.domain_id = $1 AND f.userid = p.peer AND f.peer = $2`, [domainId, userid])
      await c.query('DELETE FROM friends WHERE domain_id = $1 AND userid = $2', [domainId, userid])
    })
    return deleted
  }

  async erasedAt (domainId: string, userid: number): Promise<number | null> {
    return (await this.q('SELECT erased_at AS at FROM erased_users WHERE domain_id = $1 AND userid = $2', [domainId, userid])).rows[0]?.at ?? null
  }

  async setBlock (domainId: string, userid: number, peer: number, blocked: boolean, at: number): Promise<void> {
    if (blocked) await this.q('INSERT INTO blocks (domain_id, userid, peer, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [domainId, userid, peer, at])
    else await this.q('DELETE FROM blocks WHERE domain_id = $1 AND userid = $2 AND peer = $3', [domainId, userid, peer])
  }

  async isBlocked (domainId: string, userid: number, peer: number): Promise<boolean> {
    return (await this.q('SELECT 1 FROM blocks WHERE domain_id = $1 AND userid = $2 AND peer = $3', [domainId, userid, peer])).rowCount! > 0
  }

  /** Both directions in one statement (one transaction); rows in key order, as another node's call would take them. */
  async setFriend (domainId: string, userid: number, peer: number, friends: boolean, at: number): Promise<void> {
    const [a, b] = userid < peer ? [userid, peer] : [peer, userid]
    if (friends) {
      await this.q('INSERT INTO friends (domain_id, userid, peer, created_at) VALUES ($1, $2, $3, $4), ($1, $3, $2, $4) ON CONFLICT DO NOTHING', [domainId, a, b, at])
    } else {
      await this.q('DELETE FROM friends WHERE domain_id = $1 AND ((userid = $2 AND peer = $3) OR (userid = $3 AND peer = $2))', [domainId, a, b])
    }
  }

  async listFriends (domainId: string, userid: number): Promise<UserRow[]> {
    const rows = (await this.q<DbUser>(`SELECT fr.peer AS userid, p.status, p.changed_at AS "changedAt", f.name, f.avatar, f.link
        FROM friends fr
        LEFT JOIN presence p ON p.domain_id = fr.domain_id AND p.userid = fr.peer
        LEFT JOIN profiles f ON f.domain_id = fr.domain_id AND f.userid = fr.peer
        WHERE fr.domain_id = $1 AND fr.userid = $2 ORDER BY fr.peer`, [domainId, userid])).rows
    return rows.map(toUser)
  }

  async areFriends (domainId: string, userid: number, peer: number): Promise<boolean> {
    return (await this.q('SELECT 1 FROM friends WHERE domain_id = $1 AND userid = $2 AND peer = $3', [domainId, userid, peer])).rowCount! > 0
  }
}

/** The writer's advisory locks of these users, taken in its sorted order (no deadlock). */
async function lockUsers (client: pg.ClientBase, domainId: string, userids: number[]): Promise<void> {
  const keys = [...new Set(userids.map((u) => userLockKey(domainId, u)))].sort()
  await client.query('SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0))) FROM (SELECT k FROM unnest($1::text[]) AS k ORDER BY k COLLATE "C") s', [keys])
}
