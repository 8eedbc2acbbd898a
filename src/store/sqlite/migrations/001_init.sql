-- Domains (tenants). The API key is kept only as its SHA-256: a leaked database does not
-- leak keys. The token secret must stay readable: it verifies the users' JWTs.
CREATE TABLE domains (
  id            TEXT PRIMARY KEY,
  name          TEXT NOT NULL,
  api_key_hash  TEXT NOT NULL UNIQUE,
  token_secret  TEXT NOT NULL,
  created_at    INTEGER NOT NULL              -- unix ms
);

-- One row per user: its last known status. Bounded by the number of users.
CREATE TABLE presence (
  domain_id   TEXT NOT NULL REFERENCES domains(id),
  userid      INTEGER NOT NULL,
  status      TEXT NOT NULL CHECK (status IN ('online', 'away', 'busy', 'offline')),
  changed_at  INTEGER NOT NULL,               -- unix ms
  PRIMARY KEY (domain_id, userid)
) WITHOUT ROWID;
CREATE INDEX presence_active ON presence (status) WHERE status <> 'offline';

-- The chat history, kept for as long as the domain exists: it is the customer's data.
CREATE TABLE messages (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,  -- AUTOINCREMENT: ids never reused
  domain_id    TEXT NOT NULL REFERENCES domains(id),
  from_userid  INTEGER NOT NULL,
  to_userid    INTEGER NOT NULL,
  type         INTEGER NOT NULL,
  message      TEXT NOT NULL,
  p1           TEXT NOT NULL DEFAULT '',
  p2           TEXT NOT NULL DEFAULT '',
  p3           TEXT NOT NULL DEFAULT '',
  created_at   INTEGER NOT NULL                    -- unix ms
);
-- Each index serves one query of listMessages: recent in the domain, a user's sent and
-- received mail (catch-up after a reconnect), and one conversation (both directions).
CREATE INDEX messages_domain ON messages (domain_id, id);
CREATE INDEX messages_from ON messages (domain_id, from_userid, id);
CREATE INDEX messages_to ON messages (domain_id, to_userid, id);
CREATE INDEX messages_pair ON messages (domain_id, from_userid, to_userid, id);

-- The outbox: every presence change and every message, written in the same transaction as
-- the change itself, with the exact body its callback carries.
CREATE TABLE events (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  domain_id   TEXT NOT NULL REFERENCES domains(id),
  kind        TEXT NOT NULL CHECK (kind IN ('presence', 'messages')),
  userid      INTEGER NOT NULL,               -- ordering key: presence: the user; messages: the sender
  webhook_id  TEXT NOT NULL UNIQUE,
  body        TEXT NOT NULL,
  created_at  INTEGER NOT NULL                -- unix ms
);
CREATE INDEX events_feed ON events (domain_id, kind, id);
