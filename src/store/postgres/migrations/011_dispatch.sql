-- A claim (PostgresStore.claimEvents) in one call instead of four round trips (BEGIN, SET
-- LOCAL, the claim, COMMIT). It commits without waiting for its WAL flush: set_config(...,
-- true) lasts until the end of the caller's transaction, so it holds for that commit. A claim
-- lost in a crash loses only a lease, which runs out, and the event is sent (at least once)
-- all the same.
--
-- SKIP LOCKED: two nodes claiming at once take different queues instead of waiting for each
-- other; a queue another claim is taking is simply not ready for this one.
CREATE FUNCTION mqchat_claim(p_domain text, p_now bigint, p_node text, p_lease_until bigint, p_limit int)
RETURNS TABLE (domain_id text, kind text, userid bigint, id bigint, webhook_id text, body text, created_at bigint, attempts int,
  url text, signing_secret text, previous_secret text, previous_secret_until bigint)
LANGUAGE sql AS $$
  SELECT set_config('synchronous_commit', 'off', true);
  WITH picked AS (
      SELECT q.domain_id, q.kind, q.userid, q.ready_at FROM outbox_queues q
      JOIN events e ON e.id = q.head_id AND e.state = 'pending'
      JOIN callbacks c ON c.domain_id = q.domain_id AND c.kind = q.kind AND c.enabled AND c.url IS NOT NULL
        AND (c.paused_until IS NULL OR c.paused_until < p_now)
      WHERE q.domain_id = p_domain AND q.ready_at <= p_now AND (q.locked_until IS NULL OR q.locked_until < p_now)
      ORDER BY q.ready_at LIMIT p_limit
      FOR UPDATE OF q SKIP LOCKED),
    leased AS (
      UPDATE outbox_queues q SET locked_by = p_node, locked_until = p_lease_until FROM picked p
      WHERE q.domain_id = p.domain_id AND q.kind = p.kind AND q.userid = p.userid
      RETURNING q.domain_id, q.kind, q.userid, q.head_id, p.ready_at)
  SELECT l.domain_id, l.kind, l.userid, e.id, e.webhook_id, e.body, e.created_at, e.attempts,
    c.url, c.signing_secret, c.previous_secret, c.previous_secret_until
  FROM leased l JOIN events e ON e.id = l.head_id JOIN callbacks c ON c.domain_id = l.domain_id AND c.kind = l.kind
  ORDER BY l.ready_at;
$$;

-- A batch of completions (PostgresStore.complete). The deliveries that succeeded, nearly all
-- of them, are done together, a few statements for the whole batch, as mqchat_complete
-- (migration 008) does each: the attempt logged; only while the completing node holds the
-- lease on the event's queue, the event delivered (or pending again when a replay asked for
-- it while in flight), the callback's last success, the queue moved on to the user's oldest
-- pending event or closed. Every other outcome goes through mqchat_complete, one at a time.
CREATE OR REPLACE FUNCTION mqchat_complete_all(cs jsonb) RETURNS boolean[] LANGUAGE plpgsql AS $$
DECLARE
  out boolean[] := array_fill(false, ARRAY[jsonb_array_length(cs)]);
  -- the deliveries whose node still holds the lease: their place in cs, and their fields
  o_ int[]; d_ text[]; k_ text[]; u_ bigint[]; node_ text[]; ev_ bigint[]; t_ bigint[];
  c record;
BEGIN
  -- The users first, in the writer's order (see migration 010): a batch of completions and a
  -- batch of new events that touch the same users' queues then never deadlock.
  PERFORM pg_advisory_xact_lock(hashtextextended(k, 0)) FROM (
    SELECT DISTINCT (x->>'domainId') || '/' || (x->>'userid') AS k FROM jsonb_array_elements(cs) AS x) s
    ORDER BY k COLLATE "C";

  -- Every attempt is logged, in batch order.
  INSERT INTO callback_logs (domain_id, kind, event_id, webhook_id, at, url, request_headers, request_body,
      response_status, response_body, duration_ms, error, attempt, result)
    SELECT l->>'domainId', l->>'kind', (l->>'eventId')::bigint, l->>'webhookId', (l->>'at')::bigint, l->>'url',
      (l->'requestHeaders')::text, l->>'requestBody', (l->>'responseStatus')::integer, l->>'responseBody',
      (l->>'durationMs')::integer, l->>'error', (l->>'attempt')::integer, l->>'result'
    FROM (SELECT a.x->'log' AS l, a.o FROM jsonb_array_elements(cs) WITH ORDINALITY AS a(x, o) WHERE a.x->>'outcome' = 'delivered') s
    ORDER BY o;

  -- Whose lease still holds (their queues locked, in key order).
  SELECT array_agg(s.o), array_agg(s.d), array_agg(s.k), array_agg(s.u), array_agg(s.node), array_agg(s.ev), array_agg(s.t)
    INTO o_, d_, k_, u_, node_, ev_, t_
    FROM (
      SELECT m.o, m.d, m.k, m.u, m.node, m.ev, m.t
      FROM (SELECT a.o::int AS o, a.x->>'domainId' AS d, a.x->>'kind' AS k, (a.x->>'userid')::bigint AS u, a.x->>'nodeId' AS node,
              (a.x->>'eventId')::bigint AS ev, (a.x->>'at')::bigint AS t
            FROM jsonb_array_elements(cs) WITH ORDINALITY AS a(x, o) WHERE a.x->>'outcome' = 'delivered') m
      JOIN outbox_queues q ON q.domain_id = m.d AND q.kind = m.k AND q.userid = m.u AND q.locked_by = m.node AND q.head_id = m.ev
      ORDER BY q.domain_id COLLATE "C", q.kind, q.userid
      FOR UPDATE OF q) s;

  IF o_ IS NOT NULL THEN
    UPDATE events e SET
        state = CASE WHEN e.requeued THEN 'pending' ELSE 'delivered' END,
        delivered_at = CASE WHEN e.requeued THEN e.delivered_at ELSE m.t END,
        attempts = CASE WHEN e.requeued THEN 0 ELSE e.attempts + 1 END,
        requeued = false
      FROM unnest(ev_, t_) AS m(ev, t) WHERE e.id = m.ev AND e.state IN ('pending', 'held');

    -- Shown to the second: rewritten only when the second changes.
    UPDATE callbacks cb SET last_success_at = m.t
      FROM (SELECT d, k, max(t) AS t FROM unnest(d_, k_, t_) AS x(d, k, t) GROUP BY d, k) m
      WHERE cb.domain_id = m.d AND cb.kind = m.k AND (cb.last_success_at IS NULL OR cb.last_success_at / 1000 < m.t / 1000);

    -- Each queue moves on to its user's oldest pending event, or closes.
    WITH nx AS (
        SELECT m.d, m.k, m.u, m.node, m.t,
          (SELECT e.id FROM events e WHERE e.domain_id = m.d AND e.kind = m.k AND e.userid = m.u AND e.state = 'pending' ORDER BY e.id LIMIT 1) AS nxt
        FROM unnest(d_, k_, u_, node_, t_) AS m(d, k, u, node, t)),
      closed AS (
        DELETE FROM outbox_queues q USING nx
        WHERE nx.nxt IS NULL AND q.domain_id = nx.d AND q.kind = nx.k AND q.userid = nx.u AND q.locked_by = nx.node)
    UPDATE outbox_queues q SET head_id = nx.nxt, ready_at = nx.t, locked_by = NULL, locked_until = NULL
      FROM nx WHERE nx.nxt IS NOT NULL AND q.domain_id = nx.d AND q.kind = nx.k AND q.userid = nx.u AND q.locked_by = nx.node;

    FOR i IN 1 .. array_length(o_, 1) LOOP
      out[o_[i]] := true;
    END LOOP;
  END IF;

  FOR c IN SELECT a.x, a.o FROM jsonb_array_elements(cs) WITH ORDINALITY AS a(x, o) WHERE a.x->>'outcome' <> 'delivered' ORDER BY a.o LOOP
    out[c.o] := mqchat_complete(c.x);
  END LOOP;
  RETURN out;
END
$$;

-- PL/pgSQL keeps each statement's plan for the session, and a generic plan made while the
-- tables were small (a fresh database, a node started before its first burst) stays in use
-- as they grow: a sequential scan of the events for each delivery's next pending event took
-- the drain from 2,700 to 330 a second (the backends' CPU from 458 µs to 3 ms a delivery),
-- from one run to the next. Each call is planned for the tables as they are now. (The
-- writer's batch keeps its cached plans: its look-ups are by primary key, which a generic
-- plan finds whatever the size, and planning each call cost the chat load a few per cent.)
ALTER FUNCTION mqchat_complete(jsonb) SET plan_cache_mode = force_custom_plan;
ALTER FUNCTION mqchat_complete_all(jsonb) SET plan_cache_mode = force_custom_plan;
