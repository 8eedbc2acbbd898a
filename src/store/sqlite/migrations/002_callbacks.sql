-- Callbacks (SPEC §4): one per domain and kind, off by default (fixed).
CREATE TABLE callbacks (
  domain_id              TEXT NOT NULL REFERENCES domains(id),
  kind                   TEXT NOT NULL CHECK (kind IN ('presence', 'messages')),
  url                    TEXT,
  enabled                INTEGER NOT NULL DEFAULT 0,
  disabled_reason        TEXT,
  disabled_at            INTEGER,              -- unix ms
  signing_secret         TEXT NOT NULL,
  previous_secret        TEXT,                 -- still signs beside the new one until:
  previous_secret_until  INTEGER,              -- unix ms
  last_success_at        INTEGER,
  last_failure_at        INTEGER,
  PRIMARY KEY (domain_id, kind)
) WITHOUT ROWID;

-- The outbox's delivery state. An event is written 'pending' when its callback is enabled,
-- 'held' when not (kept for replay and the feed); then 'delivered' or 'failed'.
-- Events written before this migration predate callbacks, which were all off: held.
ALTER TABLE events ADD COLUMN state TEXT NOT NULL DEFAULT 'held' CHECK (state IN ('pending', 'held', 'delivered', 'failed'));
ALTER TABLE events ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN delivered_at INTEGER;      -- unix ms
-- A replay asked for while this event was being sent: when that attempt ends, the event is
-- pending again (and is sent in its turn) instead of done.
ALTER TABLE events ADD COLUMN requeued INTEGER NOT NULL DEFAULT 0;
-- The next pending event of a user, when its queue moves on.
CREATE INDEX events_pending_user ON events (domain_id, kind, userid, id) WHERE state = 'pending';
-- Retention, replay by time, pending counts.
CREATE INDEX events_created ON events (created_at);
CREATE INDEX events_kind_created ON events (domain_id, kind, created_at);
CREATE INDEX events_pending_kind ON events (domain_id, kind) WHERE state = 'pending';

-- One queue per user with pending events (presence: the user; messages: the sender), as
-- graphile-worker keeps job queues: only its head is ever sent, so a user's events go out
-- strictly in order while different users' go in parallel. A claim reads ready queues by
-- index, never the backlog behind them, so a domain with a huge backlog costs the others
-- nothing. The lease (locked_by, locked_until) is on the queue: only its holder completes.
CREATE TABLE outbox_queues (
  domain_id     TEXT NOT NULL,
  kind          TEXT NOT NULL,
  userid        INTEGER NOT NULL,
  head_id       INTEGER NOT NULL,                -- the oldest pending event of this user
  ready_at      INTEGER NOT NULL,                -- unix ms: when the head may be (re)tried
  locked_by     TEXT,
  locked_until  INTEGER,                         -- unix ms
  PRIMARY KEY (domain_id, kind, userid)
) WITHOUT ROWID;
CREATE INDEX outbox_queues_domain ON outbox_queues (domain_id, ready_at);
CREATE INDEX outbox_queues_ready ON outbox_queues (ready_at);

-- Every delivery attempt (SPEC §4.5). Kept: the last 1,000 per callback or 7 days,
-- whichever is more; older rows are pruned by the server.
CREATE TABLE callback_logs (
  id               INTEGER PRIMARY KEY AUTOINCREMENT,
  domain_id        TEXT NOT NULL,
  kind             TEXT NOT NULL,
  event_id         INTEGER NOT NULL,
  webhook_id       TEXT NOT NULL,
  at               INTEGER NOT NULL,           -- unix ms, when the attempt started
  url              TEXT NOT NULL,
  request_headers  TEXT NOT NULL,              -- JSON object
  request_body     TEXT NOT NULL,
  response_status  INTEGER,
  response_body    TEXT,                       -- first 1 KiB
  duration_ms      INTEGER NOT NULL,
  error            TEXT,
  attempt          INTEGER NOT NULL,
  result           TEXT NOT NULL CHECK (result IN ('ok', 'failed'))
);
CREATE INDEX callback_logs_list ON callback_logs (domain_id, kind, id);
CREATE INDEX callback_logs_result ON callback_logs (domain_id, kind, result, id);
