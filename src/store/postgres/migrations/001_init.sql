-- The PostgreSQL schema: the same tables as the embedded store (sqlite/migrations), in one
-- file, plus what several nodes sharing the database need (nodes, presence.node_id).
-- Times are unix ms in bigint, as in the embedded store, so rows move between them as they are.

-- Domains (tenants). The API key is kept only as its SHA-256.
CREATE TABLE domains (
  id            text PRIMARY KEY,
  name          text NOT NULL,
  api_key_hash  text NOT NULL UNIQUE,
  token_secret  text NOT NULL,
  created_at    bigint NOT NULL
);

-- The nodes sharing this database. A node renews its row every few seconds, by the
-- database's clock; a node whose row has run out is gone: its leases and present users are
-- released by the others (every such statement re-checks this in its WHERE). Rows of nodes
-- gone for a day are removed.
CREATE TABLE nodes (
  id           text PRIMARY KEY,
  started_at   bigint NOT NULL,
  alive_until  bigint NOT NULL
);

-- One row per user: its last known status, and the node that wrote it.
CREATE TABLE presence (
  domain_id   text NOT NULL REFERENCES domains(id),
  userid      bigint NOT NULL,
  status      text NOT NULL CHECK (status IN ('online', 'away', 'busy', 'offline')),
  changed_at  bigint NOT NULL,
  node_id     text,
  PRIMARY KEY (domain_id, userid)
);
-- Who is present in a domain (the presence wildcard, the online list), and whom a node
-- that is gone left present.
CREATE INDEX presence_present ON presence (domain_id, userid) WHERE status <> 'offline';
CREATE INDEX presence_node ON presence (node_id) WHERE status <> 'offline';

-- The chat history. bigserial: ids increase and are never reused.
CREATE TABLE messages (
  id           bigserial PRIMARY KEY,
  domain_id    text NOT NULL REFERENCES domains(id),
  from_userid  bigint NOT NULL,
  to_userid    bigint NOT NULL,
  type         integer NOT NULL,
  message      text NOT NULL,
  p1           text NOT NULL DEFAULT '',
  p2           text NOT NULL DEFAULT '',
  p3           text NOT NULL DEFAULT '',
  created_at   bigint NOT NULL
);
CREATE INDEX messages_domain ON messages (domain_id, id);
CREATE INDEX messages_from ON messages (domain_id, from_userid, id);
CREATE INDEX messages_to ON messages (domain_id, to_userid, id);
CREATE INDEX messages_pair ON messages (domain_id, from_userid, to_userid, id);

-- The outbox: every presence change and message, written in the same transaction.
-- 'pending' when its callback is on, 'held' when not; then 'delivered' or 'failed'.
CREATE TABLE events (
  id            bigserial PRIMARY KEY,
  domain_id     text NOT NULL REFERENCES domains(id),
  kind          text NOT NULL CHECK (kind IN ('presence', 'messages')),
  userid        bigint NOT NULL,
  webhook_id    text NOT NULL UNIQUE,
  body          text NOT NULL,
  created_at    bigint NOT NULL,
  state         text NOT NULL DEFAULT 'held' CHECK (state IN ('pending', 'held', 'delivered', 'failed')),
  attempts      integer NOT NULL DEFAULT 0,
  delivered_at  bigint,
  -- a replay asked for while this event was in flight: pending again when that attempt ends
  requeued      boolean NOT NULL DEFAULT false
);
CREATE INDEX events_feed ON events (domain_id, kind, id);
CREATE INDEX events_pending_user ON events (domain_id, kind, userid, id) WHERE state = 'pending';
CREATE INDEX events_created ON events (created_at);
CREATE INDEX events_kind_created ON events (domain_id, kind, created_at);

-- Callbacks (SPEC §4): one per domain and kind, off by default (fixed).
CREATE TABLE callbacks (
  domain_id              text NOT NULL REFERENCES domains(id),
  kind                   text NOT NULL CHECK (kind IN ('presence', 'messages')),
  url                    text,
  enabled                boolean NOT NULL DEFAULT false,
  disabled_reason        text,
  disabled_at            bigint,
  signing_secret         text NOT NULL,
  previous_secret        text,
  previous_secret_until  bigint,
  last_success_at        bigint,
  last_failure_at        bigint,
  -- a replay under way pauses the callback's claims until then
  paused_until           bigint,
  PRIMARY KEY (domain_id, kind)
);

-- One queue per user with pending events; only its head is ever sent (see the embedded
-- store's 002_callbacks.sql). The lease is on the queue; only its holder completes.
CREATE TABLE outbox_queues (
  domain_id     text NOT NULL,
  kind          text NOT NULL,
  userid        bigint NOT NULL,
  head_id       bigint NOT NULL,
  ready_at      bigint NOT NULL,
  locked_by     text,
  locked_until  bigint,
  PRIMARY KEY (domain_id, kind, userid)
);
CREATE INDEX outbox_queues_domain ON outbox_queues (domain_id, ready_at);
CREATE INDEX outbox_queues_ready ON outbox_queues (ready_at);
CREATE INDEX outbox_queues_locked ON outbox_queues (locked_by) WHERE locked_by IS NOT NULL;

-- Every delivery attempt (SPEC §4.5): the last 1,000 per callback or 7 days, whichever is more.
CREATE TABLE callback_logs (
  id               bigserial PRIMARY KEY,
  domain_id        text NOT NULL,
  kind             text NOT NULL,
  event_id         bigint NOT NULL,
  webhook_id       text NOT NULL,
  at               bigint NOT NULL,
  url              text NOT NULL,
  request_headers  text NOT NULL,
  request_body     text NOT NULL,
  response_status  integer,
  response_body    text,
  duration_ms      integer NOT NULL,
  error            text,
  attempt          integer NOT NULL,
  result           text NOT NULL CHECK (result IN ('ok', 'failed'))
);
CREATE INDEX callback_logs_list ON callback_logs (domain_id, kind, id);
CREATE INDEX callback_logs_result ON callback_logs (domain_id, kind, result, id);
