-- Friends (SPEC §10.3). A domain's `contacts` says who its users may reach: 'everyone', or
-- with 'friends' only their friends (messages, calls, push, presence).
ALTER TABLE domains ADD COLUMN contacts TEXT NOT NULL DEFAULT 'everyone' CHECK (contacts IN ('everyone', 'friends'));

-- Friendship is mutual: two rows per pair, written and removed together in one transaction,
-- so that "is peer a friend of userid" is one primary-key probe (a send's check, in its own
-- transaction) and a user's friends are one range of the key. Bounded by the pairs the
-- domain's server sets; erased with either user.
CREATE TABLE friends (
  domain_id   TEXT NOT NULL,
  userid      INTEGER NOT NULL,
  peer        INTEGER NOT NULL,
  created_at  INTEGER NOT NULL,               -- unix ms
  PRIMARY KEY (domain_id, userid, peer)
) WITHOUT ROWID;
