// Messages on SQLite: the write of a message (its refusal, its file, its conversations and its
// event, all in the group commit's transaction) and the history's pages.
import type Database from 'better-sqlite3'
import { AppError, blockedError, notFriendError } from '../../errors.ts'
import type { EventDraft, MessageQuery, MessageRow, NewMessage } from '../types.ts'
import type { OutboxSql } from './outbox.ts'
import type { PeopleSql } from './people.ts'

interface DbMessage {
  id: number
  domain_id: string
  from_userid: number
  to_userid: number
  type: number
  message: string
  p1: string
  p2: string
  p3: string
  created_at: number
}

const toMessage = (r: DbMessage): MessageRow => ({
  id: r.id,
  domainId: r.domain_id,
  fromUserid: r.from_userid,
  toUserid: r.to_userid,
  type: r.type,
  message: r.message,
  p1: r.p1,
  p2: r.p2,
  p3: r.p3,
  at: r.created_at
})

const MSG_COLS = 'id, domain_id, from_userid, to_userid, type, message, p1, p2, p3, created_at'

/**
 * A user's mail is two index ranges (sent: messages_from or messages_pair, received:
 * messages_to or messages_pair); each side is limited on its own, then merged, so neither
 * side scans more than `limit` rows. A self-conversation appears once (UNION, not UNION ALL).
 */
function twoSided (where1: string, where2: string, order: 'ASC' | 'DESC'): string {
  return `SELECT * FROM (
      SELECT ${MSG_COLS} FROM messages WHERE ${where1} ORDER BY id ${order} LIMIT ?)
    UNION
    SELECT * FROM (
      SELECT ${MSG_COLS} FROM messages WHERE ${where2} ORDER BY id ${order} LIMIT ?)
    ORDER BY id ${order} LIMIT ?`
}

export class MessagesSql {
  private readonly q

  constructor (db: Database.Database, private readonly people: PeopleSql, private readonly outbox: OutboxSql) {
    this.q = {
      insertMessage: db.prepare('INSERT INTO messages (domain_id, from_userid, to_userid, type, message, p1, p2, p3, created_at, file_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'),
      attachFile: db.prepare('UPDATE files SET attached_at = ? WHERE domain_id = ? AND id = ? AND attached_at IS NULL'),

      domainBefore: db.prepare(`SELECT ${MSG_COLS} FROM messages WHERE domain_id = ? AND id < ? ORDER BY id DESC LIMIT ?`),
      domainAfter: db.prepare(`SELECT ${MSG_COLS} FROM messages WHERE domain_id = ? AND id > ? ORDER BY id ASC LIMIT ?`),
      userBefore: db.prepare(twoSided('domain_id = ? AND from_userid = ? AND id < ?', 'domain_id = ? AND to_userid = ? AND id < ?', 'DESC')),
      userAfter: db.prepare(twoSided('domain_id = ? AND from_userid = ? AND id > ?', 'domain_id = ? AND to_userid = ? AND id > ?', 'ASC')),
      pairBefore: db.prepare(twoSided('domain_id = ? AND from_userid = ? AND to_userid = ? AND id < ?', 'domain_id = ? AND from_userid = ? AND to_userid = ? AND id < ?', 'DESC')),
      pairAfter: db.prepare(twoSided('domain_id = ? AND from_userid = ? AND to_userid = ? AND id > ?', 'domain_id = ? AND from_userid = ? AND to_userid = ? AND id > ?', 'ASC'))
    }
  }

  /** Runs inside a write (the group commit): the message, or the AppError that refuses it. */
  append (m: NewMessage, eventFor: (row: MessageRow) => EventDraft): MessageRow | AppError {
    // SPEC §3, §10.3: nothing to a user who blocked the sender, nor to a non-friend in a
    // domain whose contacts are friends; read in the write's own transaction, so that a
    // block (or a friendship removed) and a send cannot cross. The refusal is answered,
    // not thrown: a throw would have the whole batch written again.
    const refused = this.people.refusal(m.domainId, m.fromUserid, m.toUserid)
    if (refused === 'blocked') return blockedError(m.toUserid)
    if (refused === 'not friends') return notFriendError(m.toUserid)
    const info = this.q.insertMessage.run(m.domainId, m.fromUserid, m.toUserid, m.type, m.message, m.p1, m.p2, m.p3, m.at, m.fileId ?? null)
    if (m.fileId != null) this.q.attachFile.run(m.at, m.domainId, m.fileId)
    const row: MessageRow = { ...m, id: Number(info.lastInsertRowid) }
    this.people.afterMessage(m.domainId, m.fromUserid, m.toUserid, row.id)
    const ev = eventFor(row)
    this.outbox.writeEvent(m.domainId, 'messages', m.fromUserid, ev.webhookId, ev.body, m.at)
    return row
  }

  list (q: MessageQuery): MessageRow[] {
    const limit = q.limit
    let rows: DbMessage[]
    if (q.after !== undefined) {
      // Catch-up: oldest first. The two index ranges are merged by id.
      rows = q.userid === undefined
        ? this.q.domainAfter.all(q.domainId, q.after, limit) as DbMessage[]
        : q.peer === undefined
          ? this.q.userAfter.all(q.domainId, q.userid, q.after, limit, q.domainId, q.userid, q.after, limit, limit) as DbMessage[]
          : this.q.pairAfter.all(q.domainId, q.userid, q.peer, q.after, limit, q.domainId, q.peer, q.userid, q.after, limit, limit) as DbMessage[]
    } else {
      const before = q.before ?? Number.MAX_SAFE_INTEGER
      rows = q.userid === undefined
        ? this.q.domainBefore.all(q.domainId, before, limit) as DbMessage[]
        : q.peer === undefined
          ? this.q.userBefore.all(q.domainId, q.userid, before, limit, q.domainId, q.userid, before, limit, limit) as DbMessage[]
          : this.q.pairBefore.all(q.domainId, q.userid, q.peer, before, limit, q.domainId, q.peer, q.userid, before, limit, limit) as DbMessage[]
    }
    return rows.map(toMessage)
  }
}
