-- People and conversations (SPEC §2, §3): domain settings, profiles, per-user conversation
-- rows kept with each message, blocks.

-- 0: the server-wide MQCHAT_RETENTION_DAYS. allowed_origins: a JSON array of origins.
ALTER TABLE domains ADD COLUMN retention_days INTEGER NOT NULL DEFAULT 0;
ALTER TABLE domains ADD COLUMN allowed_origins TEXT NOT NULL DEFAULT '[]';

-- A user's profile, beside its presence row (the user exists once it has one). Bounded by
-- the number of users; erased with the user.
CREATE TABLE profiles (
  domain_id   TEXT NOT NULL REFERENCES domains(id),
  userid      INTEGER NOT NULL,
  name        TEXT,
  avatar      TEXT,
  link        TEXT,
  updated_at  INTEGER NOT NULL,               -- unix ms
  PRIMARY KEY (domain_id, userid)
) WITHOUT ROWID;

-- One row per user and peer it has exchanged messages with (two per pair, one per note to
-- self), written in the same transaction as each message: a user's conversation list is a
-- range of conversations_recent, whatever the size of its history. `unread` counts the
-- peer's messages above read_up_to (kept, not counted at read time). Bounded by the pairs
-- that have messages: retention and erasure remove the rows whose messages are gone.
CREATE TABLE conversations (
  domain_id   TEXT NOT NULL,
  userid      INTEGER NOT NULL,
  peer        INTEGER NOT NULL,
  last_id     INTEGER NOT NULL,               -- the newest message between the two
  unread      INTEGER NOT NULL DEFAULT 0,
  read_up_to  INTEGER NOT NULL DEFAULT 0,     -- only moves forward
  PRIMARY KEY (domain_id, userid, peer)
) WITHOUT ROWID;
CREATE INDEX conversations_recent ON conversations (domain_id, userid, last_id);

-- Messages sent before this table existed: every conversation, nothing read yet.
INSERT INTO conversations (domain_id, userid, peer, last_id, unread)
SELECT domain_id, u, p, max(id), sum(incoming) FROM (
  SELECT domain_id, from_userid AS u, to_userid AS p, id, 0 AS incoming FROM messages
  UNION ALL
  SELECT domain_id, to_userid, from_userid, id, 1 FROM messages WHERE from_userid <> to_userid
) GROUP BY domain_id, u, p;

-- userid blocks peer: peer's sends to userid are refused, its typing is not relayed.
CREATE TABLE blocks (
  domain_id   TEXT NOT NULL,
  userid      INTEGER NOT NULL,
  peer        INTEGER NOT NULL,
  created_at  INTEGER NOT NULL,
  PRIMARY KEY (domain_id, userid, peer)
) WITHOUT ROWID;

-- Users erased (DELETE …/users/{userid}): their tokens minted before this time stop working.
-- One row per erased user: bounded by the erasures asked for.
CREATE TABLE erased_users (
  domain_id   TEXT NOT NULL,
  userid      INTEGER NOT NULL,
  erased_at   INTEGER NOT NULL,               -- unix ms
  PRIMARY KEY (domain_id, userid)
) WITHOUT ROWID;
