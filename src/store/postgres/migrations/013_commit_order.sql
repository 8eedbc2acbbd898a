-- Ids commit in id order within a domain (issue 20). Ids come from sequences, taken before
-- the commit: two transactions of one domain (two nodes' batches, a batch and a presence
-- change) could commit a lower id a few ms after a higher one, and a reader that pages "after
-- the last id I saw" (the event feed, SPEC §4.6; history `after`, the client's catch-up; a
-- conversation's unread count as of its last id, the widget's unread rule) skipped the lower
-- one for good. Every write that takes a message or event id now first takes its domain's
-- transaction-scoped advisory lock, held until its commit, so the next writer of that domain
-- takes its ids only once the one before is committed and visible (locks are released after
-- the commit is visible), as Message DB takes a lock per category before a write for its
-- readers of that category. Readers then need nothing: a reader that sees an id sees every
-- lower id of the domain, committed before it (or never, rolled back).
--
-- What it costs: one more lock per domain per batch (a batch of messages pays it once, a
-- presence change once), no row, no column, nothing per message; and, between transactions of
-- one domain, waiting: a domain's writes commit one at a time across the cluster (each node's
-- writer already writes one batch at a time; now the nodes' batches of one domain queue up,
-- each for the other's execution and WAL flush, and grow meanwhile). Different domains never
-- wait for each other (but two whose names hash alike, which is only more waiting).
--
-- Lock order (no deadlock): the users' locks (migration 010), then the domains' locks in key
-- order, then rows. The key is the two-int form, so it never meets the users' bigint keys
-- or the jobs' and migrations' locks.

CREATE FUNCTION mqchat_domain_order_key(d text) RETURNS int LANGUAGE sql IMMUTABLE AS $$
  SELECT hashtext(d)
$$;

-- The writer's batch (migration 010), the same but for the domains' locks.
CREATE OR REPLACE FUNCTION mqchat_write_batch(
  p_locks text[],
  m_domain text[], m_from bigint[], m_to bigint[], m_type int[], m_message text[],
  m_p1 text[], m_p2 text[], m_p3 text[], m_at bigint[], m_file text[],
  l_domain text[], l_userid bigint[], l_status text[], l_at bigint[], p_node text,
  e_domain text[], e_kind text[], e_userid bigint[], e_webhook text[], e_pre text[], e_post text[], e_at bigint[], e_msg int[],
  p_ready_at bigint
) RETURNS bigint[] LANGUAGE plpgsql AS $$
DECLARE
  n int := coalesce(array_length(m_domain, 1), 0);
  ids bigint[] := '{}';
  ok int[];
  why int[];
  seq bigint[];
BEGIN
  PERFORM count(pg_advisory_xact_lock(hashtextextended(k, 0))) FROM (SELECT k FROM unnest(p_locks) AS k ORDER BY k COLLATE "C") s;
  -- Then each domain of the batch, before any id is taken (see the top of this file).
  PERFORM count(pg_advisory_xact_lock(20, h)) FROM (SELECT DISTINCT mqchat_domain_order_key(d) AS h FROM unnest(e_domain) AS d ORDER BY 1) s;

  IF n > 0 THEN
    ids := array_fill(NULL::bigint, ARRAY[n]);
    -- Why each message is refused (0: it is not): 1 the recipient blocked the sender (SPEC
    -- §3), 2 the domain keeps contacts to friends and they are not (SPEC §10.3). Read in this
    -- transaction, as the block always was: a friendship removed and a send cannot cross.
    SELECT array_agg(CASE
        WHEN x.f = x.t THEN 0
        WHEN EXISTS (SELECT 1 FROM blocks b WHERE b.domain_id = x.d AND b.userid = x.t AND b.peer = x.f) THEN 1
        WHEN EXISTS (SELECT 1 FROM domains dm WHERE dm.id = x.d AND dm.contacts = 'friends')
          AND NOT EXISTS (SELECT 1 FROM friends fr WHERE fr.domain_id = x.d AND fr.userid = x.f AND fr.peer = x.t) THEN 2
        ELSE 0 END ORDER BY x.o) INTO why
      FROM unnest(m_domain, m_from, m_to) WITH ORDINALITY AS x(d, f, t, o);
    SELECT array_agg(w.o ORDER BY w.o) INTO ok FROM unnest(why) WITH ORDINALITY AS w(r, o) WHERE w.r = 0;
    IF ok IS NOT NULL THEN
      SELECT array_agg(v ORDER BY v) INTO seq FROM (SELECT nextval('messages_id_seq') AS v FROM generate_series(1, array_length(ok, 1))) s;
      FOR i IN 1 .. array_length(ok, 1) LOOP
        ids[ok[i]] := seq[i];
      END LOOP;

      INSERT INTO messages (id, domain_id, from_userid, to_userid, type, message, p1, p2, p3, created_at, file_id)
        SELECT ids[x.o], x.d, x.f, x.t, x.ty, x.m, x.p1, x.p2, x.p3, x.at, x.fi
          FROM unnest(m_domain, m_from, m_to, m_type, m_message, m_p1, m_p2, m_p3, m_at, m_file) WITH ORDINALITY AS x(d, f, t, ty, m, p1, p2, p3, at, fi, o)
          WHERE ids[x.o] IS NOT NULL ORDER BY x.o;

      -- Both sides' rows, each once per batch, in one sorted order (no deadlock between nodes).
      INSERT INTO conversations (domain_id, userid, peer, last_id, unread)
        SELECT d, u, p, max(l), sum(c)::int FROM (
            SELECT x.d, x.f AS u, x.t AS p, ids[x.o] AS l, 0 AS c FROM unnest(m_domain, m_from, m_to) WITH ORDINALITY AS x(d, f, t, o) WHERE ids[x.o] IS NOT NULL
            UNION ALL
            SELECT x.d, x.t, x.f, ids[x.o], 1 FROM unnest(m_domain, m_from, m_to) WITH ORDINALITY AS x(d, f, t, o) WHERE ids[x.o] IS NOT NULL AND x.f <> x.t
          ) s
          GROUP BY d, u, p ORDER BY d COLLATE "C", u, p
        ON CONFLICT (domain_id, userid, peer) DO UPDATE SET last_id = greatest(conversations.last_id, excluded.last_id), unread = conversations.unread + excluded.unread;

      -- A file is attached by the first message that carries it (SPEC §8: the 24 h limit ends).
      UPDATE files f SET attached_at = x.at
        FROM unnest(m_domain, m_file, m_at) WITH ORDINALITY AS x(d, fi, at, o)
        WHERE x.fi IS NOT NULL AND ids[x.o] IS NOT NULL AND f.domain_id = x.d AND f.id = x.fi AND f.attached_at IS NULL;
    END IF;
  END IF;

  -- The last change of each user in the batch is its row.
  IF coalesce(array_length(l_domain, 1), 0) > 0 THEN
    INSERT INTO presence (domain_id, userid, status, changed_at, node_id)
      SELECT d, u, s, t, p_node FROM unnest(l_domain, l_userid, l_status, l_at) AS x(d, u, s, t)
      ON CONFLICT (domain_id, userid) DO UPDATE SET status = excluded.status, changed_at = excluded.changed_at, node_id = excluded.node_id;
  END IF;

  -- Every change and every message not refused is an event (ids in batch order): pending when
  -- its callback is on, held otherwise. A user's outbox queue that exists keeps its head (the
  -- new event waits behind it), unless that head is no longer pending and nobody holds the
  -- queue: then the new event is the head. A queue is ready from its event's time, or from
  -- p_ready_at (the database's now) if the node's clock runs ahead of it.
  IF coalesce(array_length(e_domain, 1), 0) > 0 THEN
    WITH ins AS (
      INSERT INTO events (domain_id, kind, userid, webhook_id, body, created_at, state)
      SELECT x.d, x.k, x.u, x.w,
          CASE WHEN x.mi IS NULL OR x.post IS NULL THEN x.pre ELSE x.pre || ids[x.mi]::text || x.post END,
          x.t,
          CASE WHEN EXISTS (SELECT 1 FROM callbacks c WHERE c.domain_id = x.d AND c.kind = x.k AND c.enabled AND c.url IS NOT NULL)
            THEN 'pending' ELSE 'held' END
        FROM unnest(e_domain, e_kind, e_userid, e_webhook, e_pre, e_post, e_at, e_msg) WITH ORDINALITY AS x(d, k, u, w, pre, post, t, mi, o)
        WHERE x.mi IS NULL OR ids[x.mi] IS NOT NULL
        ORDER BY x.o
      RETURNING id, domain_id, kind, userid, state, created_at)
    INSERT INTO outbox_queues (domain_id, kind, userid, head_id, ready_at)
    SELECT domain_id, kind, userid, min(id), least(min(created_at), p_ready_at) FROM ins WHERE state = 'pending' GROUP BY domain_id, kind, userid
    ON CONFLICT (domain_id, kind, userid) DO UPDATE SET head_id = excluded.head_id, ready_at = excluded.ready_at, locked_by = NULL, locked_until = NULL
      WHERE (outbox_queues.locked_until IS NULL OR outbox_queues.locked_until < excluded.ready_at)
        AND (SELECT state FROM events WHERE id = outbox_queues.head_id) IS DISTINCT FROM 'pending';
  END IF;

  -- A refused message's place in the answer says why: -1 blocked, -2 not a friend.
  FOR i IN 1 .. n LOOP
    IF ids[i] IS NULL THEN ids[i] := -why[i]; END IF;
  END LOOP;
  RETURN ids;
END $$;

-- One event outside a batch (a presence change, migration 009): its domain first.
CREATE OR REPLACE FUNCTION mqchat_write_event(d text, k text, u bigint, w text, b text, t bigint, ready bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  ev bigint;
  st text;
BEGIN
  PERFORM pg_advisory_xact_lock(20, mqchat_domain_order_key(d));
  st := CASE WHEN EXISTS (SELECT 1 FROM callbacks c WHERE c.domain_id = d AND c.kind = k AND c.enabled AND c.url IS NOT NULL)
    THEN 'pending' ELSE 'held' END;
  INSERT INTO events (domain_id, kind, userid, webhook_id, body, created_at, state) VALUES (d, k, u, w, b, t, st) RETURNING id INTO ev;
  IF st = 'pending' THEN
    INSERT INTO outbox_queues (domain_id, kind, userid, head_id, ready_at) VALUES (d, k, u, ev, least(t, ready))
    ON CONFLICT (domain_id, kind, userid) DO UPDATE SET head_id = excluded.head_id, ready_at = excluded.ready_at, locked_by = NULL, locked_until = NULL
      WHERE (outbox_queues.locked_until IS NULL OR outbox_queues.locked_until < excluded.ready_at)
        AND (SELECT state FROM events WHERE id = outbox_queues.head_id) IS DISTINCT FROM 'pending';
  END IF;
END
$$;
