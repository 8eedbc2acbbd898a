-- Web push (SPEC §10.1): the same tables as sqlite/migrations/014_push.sql.
-- Server-wide settings (the VAPID key pair, the same on every node): the first node to start
-- inserts its pair, the others find it there (INSERT … ON CONFLICT DO NOTHING, then read).
CREATE TABLE server_settings (
  key    text PRIMARY KEY,
  value  text NOT NULL
);

-- A browser's push subscription; an endpoint belongs to one user of a domain (the last who
-- registered it). At most 10 a user, erased with the user, removed on a 404 or 410.
CREATE TABLE push_subscriptions (
  domain_id   text NOT NULL,
  endpoint    text NOT NULL,
  userid      bigint NOT NULL,
  p256dh      text NOT NULL,
  auth        text NOT NULL,
  created_at  bigint NOT NULL,
  PRIMARY KEY (domain_id, endpoint)
);
CREATE INDEX push_subscriptions_user ON push_subscriptions (domain_id, userid, created_at);

-- One push to send (a message for one subscription), claimed by any node with a lease;
-- deleted once sent, gone or given up, so the table holds only what is due.
CREATE TABLE push_jobs (
  id            bigserial PRIMARY KEY,
  domain_id     text NOT NULL,
  userid        bigint NOT NULL,
  endpoint      text NOT NULL,
  payload       text NOT NULL,
  attempts      integer NOT NULL DEFAULT 0,
  next_at       bigint NOT NULL,
  locked_by     text,
  locked_until  bigint,
  created_at    bigint NOT NULL
);
CREATE INDEX push_jobs_due ON push_jobs (next_at);
CREATE INDEX push_jobs_user ON push_jobs (domain_id, userid);
