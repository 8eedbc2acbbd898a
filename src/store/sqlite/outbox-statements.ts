// The outbox's statements on SQLite, prepared once (outbox.ts runs them); each comment says
// what a statement decides.
import type Database from 'better-sqlite3'

export function prepare (db: Database.Database) {
  const LOG_COLS = `id, domain_id AS domainId, kind, event_id AS eventId, webhook_id AS webhookId, at, url,
    request_headers AS requestHeaders, request_body AS requestBody, response_status AS responseStatus,
    response_body AS responseBody, duration_ms AS durationMs, error, attempt, result`
  return {
    callbackOn: db.prepare('SELECT 1 FROM callbacks WHERE domain_id = ? AND kind = ? AND enabled = 1 AND url IS NOT NULL'),
    insertEvent: db.prepare('INSERT INTO events (domain_id, kind, userid, webhook_id, body, created_at, state) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    // A queue that exists already keeps its head: the new event waits behind it. Unless the
    // head is no longer pending (held when the callback was switched off mid-attempt, and its
    // holder died) and nobody holds the queue: then the new event is the head.
    openQueue: db.prepare(`INSERT INTO outbox_queues (domain_id, kind, userid, head_id, ready_at) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (domain_id, kind, userid) DO UPDATE SET head_id = excluded.head_id, ready_at = excluded.ready_at, locked_by = NULL, locked_until = NULL
        WHERE (outbox_queues.locked_until IS NULL OR outbox_queues.locked_until < excluded.ready_at)
          AND (SELECT state FROM events WHERE id = outbox_queues.head_id) IS NOT 'pending'`),

    getCallback: db.prepare('SELECT * FROM callbacks WHERE domain_id = ? AND kind = ?'),
    insertCallback: db.prepare('INSERT INTO callbacks (domain_id, kind, signing_secret) VALUES (?, ?, ?) ON CONFLICT DO NOTHING'),
    holdEvents: db.prepare(`UPDATE events SET state = 'held' WHERE id IN (
        SELECT id FROM events WHERE domain_id = ? AND kind = ? AND state = 'pending' ORDER BY id LIMIT ?)
      AND NOT EXISTS (SELECT 1 FROM callbacks WHERE domain_id = ? AND kind = ? AND enabled = 1)`),
    dropIdleQueues: db.prepare(`DELETE FROM outbox_queues WHERE domain_id = ? AND kind = ? AND locked_by IS NULL
      AND NOT EXISTS (SELECT 1 FROM callbacks WHERE domain_id = ? AND kind = ? AND enabled = 1)`),
    offWithPending: db.prepare(`SELECT c.domain_id AS domainId, c.kind FROM callbacks c WHERE c.enabled = 0
      AND EXISTS (SELECT 1 FROM events e WHERE e.domain_id = c.domain_id AND e.kind = c.kind AND e.state = 'pending')`),
    countPending: db.prepare("SELECT count(*) AS n FROM events WHERE domain_id = ? AND kind = ? AND state = 'pending'"),
    countPendingByKind: db.prepare("SELECT kind, count(*) AS n FROM events WHERE state = 'pending' GROUP BY kind"),

    readyDomains: db.prepare('SELECT DISTINCT domain_id FROM outbox_queues WHERE ready_at <= ? AND (locked_until IS NULL OR locked_until < ?)'),
    // Oldest-due first across the domain's users; one head per user.
    claimable: db.prepare(`SELECT q.domain_id, q.kind, q.userid, e.id, e.webhook_id, e.body, e.created_at, e.attempts,
        c.url, c.signing_secret, c.previous_secret, c.previous_secret_until
      FROM outbox_queues q
      JOIN events e ON e.id = q.head_id
      JOIN callbacks c ON c.domain_id = q.domain_id AND c.kind = q.kind AND c.enabled = 1 AND c.url IS NOT NULL
        AND (c.paused_until IS NULL OR c.paused_until < @now)
      WHERE q.domain_id = @domainId AND q.ready_at <= @now AND (q.locked_until IS NULL OR q.locked_until < @now) AND e.state = 'pending'
      ORDER BY q.ready_at LIMIT @limit`),
    // Whether a claim would find anything: most wakes of a domain whose callbacks are off
    // find nothing, and this look-up costs less than a claim's transaction.
    anyReady: db.prepare('SELECT 1 FROM outbox_queues WHERE domain_id = @domainId AND ready_at <= @now AND (locked_until IS NULL OR locked_until < @now) LIMIT 1'),
    // A leased queue is ready again when its lease ends (if its holder never completes): its
    // ready_at says so, so that the claims' range of ready queues (outbox_queues_domain) no
    // longer holds the queues in flight, which every claim stepped over one by one.
    lease: db.prepare('UPDATE outbox_queues SET locked_by = @node, locked_until = @until, ready_at = @until WHERE domain_id = @domainId AND kind = @kind AND userid = @userid'),

    // An event held meanwhile (its callback was switched off) that still got through is
    // delivered. One a replay asked for while it was in flight is pending again instead.
    markDone: db.prepare(`UPDATE events SET
        state = CASE WHEN requeued = 1 THEN 'pending' ELSE @state END,
        delivered_at = CASE WHEN requeued = 1 THEN delivered_at ELSE @at END,
        attempts = CASE WHEN requeued = 1 THEN 0 ELSE attempts + 1 END,
        requeued = 0
      WHERE id = @id AND state IN ('pending', 'held')`),
    countAttempt: db.prepare('UPDATE events SET attempts = CASE WHEN requeued = 1 THEN 0 ELSE attempts + 1 END, requeued = 0 WHERE id = ?'),
    // Shown to the second: rewritten (a page in the WAL) only when the second changes, not on
    // every delivery of a burst.
    calledOk: db.prepare('UPDATE callbacks SET last_success_at = @at WHERE domain_id = @domainId AND kind = @kind AND (last_success_at IS NULL OR last_success_at / 1000 < @at / 1000)'),
    calledFailed: db.prepare('UPDATE callbacks SET last_failure_at = @at WHERE domain_id = @domainId AND kind = @kind AND (last_failure_at IS NULL OR last_failure_at / 1000 < @at / 1000)'),
    disable: db.prepare('UPDATE callbacks SET enabled = 0, disabled_reason = ?, disabled_at = ?, last_failure_at = ? WHERE domain_id = ? AND kind = ? AND url = ?'),
    nextPending: db.prepare("SELECT id FROM events WHERE domain_id = ? AND kind = ? AND userid = ? AND state = 'pending' ORDER BY id LIMIT 1"),
    moveQueue: db.prepare('UPDATE outbox_queues SET head_id = ?, ready_at = ?, locked_by = NULL, locked_until = NULL WHERE domain_id = ? AND kind = ? AND userid = ? AND locked_by = ?'),
    // A chain (Completion.chainUntil): the queue moves on and stays leased (its ready_at is
    // its lease's end, as a claim's). The next event, if its callback may send now.
    keepQueue: db.prepare('UPDATE outbox_queues SET head_id = ?, ready_at = ?, locked_until = ? WHERE domain_id = ? AND kind = ? AND userid = ? AND locked_by = ?'),
    chainable: db.prepare(`SELECT e.domain_id, e.kind, e.userid, e.id, e.webhook_id, e.body, e.created_at, e.attempts,
        c.url, c.signing_secret, c.previous_secret, c.previous_secret_until
      FROM events e JOIN callbacks c ON c.domain_id = @domainId AND c.kind = @kind AND c.enabled = 1 AND c.url IS NOT NULL
        AND (c.paused_until IS NULL OR c.paused_until < @at)
      WHERE e.id = @id`),
    closeQueue: db.prepare('DELETE FROM outbox_queues WHERE domain_id = ? AND kind = ? AND userid = ? AND locked_by = ?'),
    holds: db.prepare('SELECT 1 FROM outbox_queues WHERE domain_id = ? AND kind = ? AND userid = ? AND locked_by = ? AND head_id = ?'),

    releaseMine: db.prepare('UPDATE outbox_queues SET locked_by = NULL, locked_until = NULL, ready_at = min(ready_at, ?) WHERE locked_by = ? AND head_id NOT IN (SELECT value FROM json_each(?))'),
    freeLeases: db.prepare('UPDATE outbox_queues SET locked_by = NULL, locked_until = NULL, ready_at = min(ready_at, ?) WHERE locked_by IS NOT NULL AND locked_by <> ?'),
    rebuildQueues: db.prepare(`INSERT INTO outbox_queues (domain_id, kind, userid, head_id, ready_at)
      SELECT domain_id, kind, userid, min(id), ? FROM events WHERE state = 'pending' GROUP BY domain_id, kind, userid
      ON CONFLICT DO NOTHING`),
    nextDue: db.prepare('SELECT min(ready_at) AS at FROM outbox_queues WHERE locked_by IS NULL'),

    // Replay: everything since then is sent again, from the oldest; attempts start over. A
    // queue in flight keeps its head: when that completes it moves to the oldest pending.
    pause: db.prepare('UPDATE callbacks SET paused_until = ? WHERE domain_id = ? AND kind = ?'),
    // The id that ends the next batch: events since a time, by id (events_kind_created finds
    // the start; ids and times rise together within one store).
    replayStart: db.prepare('SELECT min(id) AS id FROM events WHERE domain_id = ? AND kind = ? AND created_at >= ?'),
    replayEdge: db.prepare('SELECT id FROM events WHERE domain_id = ? AND kind = ? AND created_at >= ? AND id > ? ORDER BY id LIMIT 1 OFFSET ?'),
    requeue: db.prepare("UPDATE events SET state = 'pending', attempts = 0 WHERE domain_id = ? AND kind = ? AND created_at >= ? AND id > ? AND id <= ? AND state <> 'pending'"),
    requeueInFlight: db.prepare(`UPDATE events SET requeued = 1 WHERE state = 'pending' AND created_at >= @since AND id IN (
      SELECT head_id FROM outbox_queues WHERE domain_id = @domainId AND kind = @kind AND locked_by IS NOT NULL)`),
    reopenQueues: db.prepare(`INSERT INTO outbox_queues (domain_id, kind, userid, head_id, ready_at)
      SELECT domain_id, kind, userid, min(id), ? FROM events WHERE domain_id = ? AND kind = ? AND state = 'pending' GROUP BY userid
      ON CONFLICT (domain_id, kind, userid) DO UPDATE SET head_id = min(head_id, excluded.head_id), ready_at = min(ready_at, excluded.ready_at)
        WHERE locked_by IS NULL`),
    countSince: db.prepare("SELECT count(*) AS n FROM events WHERE domain_id = ? AND kind = ? AND created_at >= ? AND state = 'pending'"),

    insertLog: db.prepare(`INSERT INTO callback_logs (domain_id, kind, event_id, webhook_id, at, url, request_headers, request_body,
      response_status, response_body, duration_ms, error, attempt, result) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    listLogs: db.prepare(`SELECT ${LOG_COLS} FROM callback_logs WHERE domain_id = ? AND kind = ? AND id < ? ORDER BY id DESC LIMIT ?`),
    listLogsByResult: db.prepare(`SELECT ${LOG_COLS} FROM callback_logs WHERE domain_id = ? AND kind = ? AND result = ? AND id < ? ORDER BY id DESC LIMIT ?`),
    allCallbacks: db.prepare('SELECT domain_id, kind FROM callbacks'),
    keptLogFrom: db.prepare('SELECT id FROM callback_logs WHERE domain_id = ? AND kind = ? ORDER BY id DESC LIMIT 1 OFFSET ?'),
    // Older than the cut-off AND not among the newest `keep`: "1,000 or 7 days, whichever is more".
    pruneLogs: db.prepare('DELETE FROM callback_logs WHERE domain_id = ? AND kind = ? AND at < ? AND id <= ?'),
    // In batches, so a large clean-up never holds the writer for long.
    pruneEvents: db.prepare(`DELETE FROM events WHERE id IN (
      SELECT id FROM events WHERE created_at < ? AND state <> 'pending' ORDER BY created_at LIMIT ?)`)
  }
}
