-- Friends (SPEC §10.3): the same table and setting as sqlite/migrations/007_friends.sql. The
-- writer's batch (migration 010) reads them.
ALTER TABLE domains ADD COLUMN contacts text NOT NULL DEFAULT 'everyone' CHECK (contacts IN ('everyone', 'friends'));

-- Mutual: two rows per pair, written and removed together (one statement each way).
CREATE TABLE friends (
  domain_id   text NOT NULL,
  userid      bigint NOT NULL,
  peer        bigint NOT NULL,
  created_at  bigint NOT NULL,
  PRIMARY KEY (domain_id, userid, peer)
);
