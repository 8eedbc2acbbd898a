-- People and conversations (SPEC §2, §3): the same tables as sqlite/migrations/005_people.sql.

ALTER TABLE domains ADD COLUMN retention_days integer NOT NULL DEFAULT 0;
ALTER TABLE domains ADD COLUMN allowed_origins jsonb NOT NULL DEFAULT '[]';

CREATE TABLE profiles (
  domain_id   text NOT NULL REFERENCES domains(id),
  userid      bigint NOT NULL,
  name        text,
  avatar      text,
  link        text,
  updated_at  bigint NOT NULL,
  PRIMARY KEY (domain_id, userid)
);

-- One row per user and peer with messages, written in each message's transaction (see the
-- SQLite migration); a conversation list is a range of conversations_recent.
CREATE TABLE conversations (
  domain_id   text NOT NULL,
  userid      bigint NOT NULL,
  peer        bigint NOT NULL,
  last_id     bigint NOT NULL,
  unread      integer NOT NULL DEFAULT 0,
  read_up_to  bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (domain_id, userid, peer)
);
CREATE INDEX conversations_recent ON conversations (domain_id, userid, last_id);

INSERT INTO conversations (domain_id, userid, peer, last_id, unread)
SELECT domain_id, u, p, max(id), sum(incoming) FROM (
  SELECT domain_id, from_userid AS u, to_userid AS p, id, 0 AS incoming FROM messages
  UNION ALL
  SELECT domain_id, to_userid, from_userid, id, 1 FROM messages WHERE from_userid <> to_userid
) m GROUP BY domain_id, u, p;

CREATE TABLE blocks (
  domain_id   text NOT NULL,
  userid      bigint NOT NULL,
  peer        bigint NOT NULL,
  created_at  bigint NOT NULL,
  PRIMARY KEY (domain_id, userid, peer)
);

-- Users erased: their tokens minted before erased_at stop working.
CREATE TABLE erased_users (
  domain_id   text NOT NULL,
  userid      bigint NOT NULL,
  erased_at   bigint NOT NULL,
  PRIMARY KEY (domain_id, userid)
);
