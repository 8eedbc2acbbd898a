-- Web push (SPEC §10.1).
-- Server-wide settings (the VAPID key pair): one row per key, written once, insert-if-absent.
CREATE TABLE server_settings (
  key    TEXT PRIMARY KEY,
  value  TEXT NOT NULL
) WITHOUT ROWID;

-- A browser's push subscription. An endpoint is one browser's: within a domain it belongs to
-- one user (the last who registered it), so a shared computer does not show another user's
-- messages. Bounded: at most 10 a user (the oldest goes), erased with the user, removed when
-- the push service answers 404 or 410.
CREATE TABLE push_subscriptions (
  domain_id   TEXT NOT NULL,
  endpoint    TEXT NOT NULL,
  userid      INTEGER NOT NULL,
  p256dh      TEXT NOT NULL,
  auth        TEXT NOT NULL,
  created_at  INTEGER NOT NULL,               -- unix ms
  PRIMARY KEY (domain_id, endpoint)
) WITHOUT ROWID;
CREATE INDEX push_subscriptions_user ON push_subscriptions (domain_id, userid, created_at);

-- One push to send: a message for one subscription. Claimed with a lease; deleted when sent,
-- gone or given up (a few attempts over minutes), so the table holds only what is due.
CREATE TABLE push_jobs (
  id            INTEGER PRIMARY KEY,
  domain_id     TEXT NOT NULL,
  userid        INTEGER NOT NULL,
  endpoint      TEXT NOT NULL,
  payload       TEXT NOT NULL,
  attempts      INTEGER NOT NULL DEFAULT 0,
  next_at       INTEGER NOT NULL,             -- unix ms
  locked_by     TEXT,
  locked_until  INTEGER,
  created_at    INTEGER NOT NULL
);
CREATE INDEX push_jobs_due ON push_jobs (next_at);
CREATE INDEX push_jobs_user ON push_jobs (domain_id, userid);
