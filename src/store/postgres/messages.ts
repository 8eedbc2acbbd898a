// The history's pages on PostgreSQL. A message is written by the writer (writer.ts), in a
// batch with its event; retention and erasure are with the people (people.ts).
import type { MessageQuery, MessageRow } from '../types.ts'
import type { Query } from './tx.ts'

const MSG_COLS = 'id, domain_id AS "domainId", from_userid AS "fromUserid", to_userid AS "toUserid", type, message, p1, p2, p3, created_at AS at'

export class MessagesPg {
  constructor (private readonly q: Query) {}

  async list (q: MessageQuery): Promise<MessageRow[]> {
    const after = q.after !== undefined
    const op = after ? '>' : '<'
    const order = after ? 'ASC' : 'DESC'
    const bound = after ? q.after! : (q.before ?? Number.MAX_SAFE_INTEGER)
    if (q.userid === undefined) {
      return (await this.q<MessageRow>(`SELECT ${MSG_COLS} FROM messages WHERE domain_id = $1 AND id ${op} $2 ORDER BY id ${order} LIMIT $3`, [q.domainId, bound, q.limit])).rows
    }
    // Two index ranges (sent and received), each limited on its own, then merged; a note to
    // self appears once (UNION).
    const [w1, w2, params] = q.peer === undefined
      ? ['from_userid = $2', 'to_userid = $2', [q.domainId, q.userid, bound, q.limit]]
      : ['from_userid = $2 AND to_userid = $5', 'from_userid = $5 AND to_userid = $2', [q.domainId, q.userid, bound, q.limit, q.peer]]
    return (await this.q<MessageRow>(`SELECT * FROM (
        (SELECT ${MSG_COLS} FROM messages WHERE domain_id = $1 AND ${w1} AND id ${op} $3 ORDER BY id ${order} LIMIT $4)
        UNION
        (SELECT ${MSG_COLS} FROM messages WHERE domain_id = $1 AND ${w2} AND id ${op} $3 ORDER BY id ${order} LIMIT $4)
      ) m ORDER BY id ${order} LIMIT $4`, params as unknown[])).rows
  }
}
