// Presence rows on SQLite (SPEC §3): one per user, written with its event in the group commit
// (index.ts wires the two into one transaction). One node: `node_id` tells a crash's orphans.
import type Database from 'better-sqlite3'
import type { PresenceChange, PresenceRow, PresenceStatus } from '../types.ts'

export class PresenceSql {
  private readonly q

  constructor (db: Database.Database) {
    this.q = {
      ensureUser: db.prepare("INSERT INTO presence (domain_id, userid, status, changed_at) VALUES (?, ?, 'offline', ?) ON CONFLICT DO NOTHING"),
      getPresence: db.prepare('SELECT userid, status, changed_at AS changedAt FROM presence WHERE domain_id = ? AND userid = ?'),
      listPresence: db.prepare('SELECT userid, status, changed_at AS changedAt FROM presence WHERE domain_id = ? ORDER BY userid'),
      listPresenceByStatus: db.prepare('SELECT userid, status, changed_at AS changedAt FROM presence WHERE domain_id = ? AND status = ? ORDER BY userid'),
      // INDEXED BY presence_present (003): left to itself, without statistics, the planner walks
      // the primary key through every user the domain ever had (10,000 rows: 0.45 ms even when
      // nobody is there); the partial index costs what is present, one primary-key look-up each.
      listPresent: db.prepare("SELECT userid, status, changed_at AS changedAt FROM presence INDEXED BY presence_present WHERE domain_id = ? AND status <> 'offline' ORDER BY userid"),
      orphaned: db.prepare("SELECT domain_id AS domainId, userid, status, changed_at AS changedAt FROM presence WHERE status <> 'offline' AND node_id IS NOT ?"),
      upsertPresence: db.prepare(`INSERT INTO presence (domain_id, userid, status, changed_at, node_id) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (domain_id, userid) DO UPDATE SET status = excluded.status, changed_at = excluded.changed_at, node_id = excluded.node_id`)
    }
  }

  /** Runs inside a write (the group commit). */
  ensureUser (domainId: string, userid: number, at: number): void {
    this.q.ensureUser.run(domainId, userid, at)
  }

  get (domainId: string, userid: number): PresenceRow | null {
    return (this.q.getPresence.get(domainId, userid) as PresenceRow | undefined) ?? null
  }

  list (domainId: string, status?: PresenceStatus): PresenceRow[] {
    return (status === undefined
      ? this.q.listPresence.all(domainId)
      : this.q.listPresenceByStatus.all(domainId, status)) as PresenceRow[]
  }

  listPresent (domainId: string): PresenceRow[] {
    return this.q.listPresent.all(domainId) as PresenceRow[]
  }

  /** Users left present by a node other than `nodeId`. */
  orphaned (nodeId: string): Array<PresenceRow & { domainId: string }> {
    return this.q.orphaned.all(nodeId) as Array<PresenceRow & { domainId: string }>
  }

  /** Runs inside a write, with the change's event. */
  write (c: PresenceChange, nodeId: string): void {
    this.q.upsertPresence.run(c.domainId, c.userid, c.status, c.at, nodeId)
  }
}
