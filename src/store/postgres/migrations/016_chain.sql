-- Completing a delivery can hand the sender the user's next event at once (a chain): the
-- queue moves on and stays leased to the same node, and the answer carries the event, so it
-- needs no claim of its own. Measured on the replay drain (10,000 events, 1,000 users): the
-- claims were about a third of the database's time per delivery, each re-reading and
-- re-leasing a queue the completion had just released. The node asks only while it is
-- running and for a few deliveries in a row (callbacks/dispatcher.ts), so one user's backlog
-- does not keep other users of its domain waiting. `chainUntil` in a completion asks for
-- it; only 'delivered' and 'failed' chain, and only while the callback is on and no replay
-- has paused it (a replay makes older events pending, which must go first).
--
-- mqchat_complete (migration 008) with that ending, answering {"held", "next"}, and the
-- size of the first batch a switch-off holds passed in (the store's REPLAY_BATCH); the
-- functions of 008 stay for nodes of the previous version during a rolling upgrade.
CREATE FUNCTION mqchat_complete_next(c jsonb, hold_batch int) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  d text := c->>'domainId';
  k text := c->>'kind';
  u bigint := (c->>'userid')::bigint;
  node text := c->>'nodeId';
  ev bigint := (c->>'eventId')::bigint;
  t bigint := (c->>'at')::bigint;
  outcome text := c->>'outcome';
  l jsonb := c->'log';
  nxt bigint;
  move_at bigint := t;
  chain_until bigint := (c->>'chainUntil')::bigint;
  next_row jsonb;
BEGIN
  INSERT INTO callback_logs (domain_id, kind, event_id, webhook_id, at, url, request_headers, request_body,
      response_status, response_body, duration_ms, error, attempt, result)
    VALUES (l->>'domainId', l->>'kind', (l->>'eventId')::bigint, l->>'webhookId', (l->>'at')::bigint, l->>'url',
      (l->'requestHeaders')::text, l->>'requestBody', (l->>'responseStatus')::integer, l->>'responseBody',
      (l->>'durationMs')::integer, l->>'error', (l->>'attempt')::integer, l->>'result');

  PERFORM 1 FROM outbox_queues
    WHERE domain_id = d AND kind = k AND userid = u AND locked_by = node AND head_id = ev FOR UPDATE;
  IF NOT FOUND THEN
    RETURN '{"held": false}'::jsonb;
  END IF;

  IF outcome = 'retry' THEN
    UPDATE events SET attempts = CASE WHEN requeued THEN 0 ELSE attempts + 1 END, requeued = false WHERE id = ev;
    move_at := (c->>'nextAttemptAt')::bigint;
  ELSE
    -- One a replay asked for while it was in flight is pending again instead of done.
    UPDATE events SET
        state = CASE WHEN requeued THEN 'pending' WHEN outcome = 'delivered' THEN 'delivered' ELSE 'failed' END,
        delivered_at = CASE WHEN requeued THEN delivered_at WHEN outcome = 'delivered' THEN t ELSE NULL END,
        attempts = CASE WHEN requeued THEN 0 ELSE attempts + 1 END,
        requeued = false
      WHERE id = ev AND state IN ('pending', 'held');
  END IF;

  IF outcome = 'delivered' THEN
    -- Shown to the second: rewritten only when the second changes.
    UPDATE callbacks SET last_success_at = t
      WHERE domain_id = d AND kind = k AND (last_success_at IS NULL OR last_success_at / 1000 < t / 1000);
  ELSIF outcome = 'disable' THEN
    -- Only if the callback still points where this attempt went.
    UPDATE callbacks SET enabled = false, disabled_reason = c->>'disabledReason', disabled_at = t, last_failure_at = t
      WHERE domain_id = d AND kind = k AND url = l->>'url';
    IF FOUND THEN
      DELETE FROM outbox_queues WHERE domain_id = d AND kind = k AND userid = u AND locked_by = node;
      -- The first hold_batch of its pending events are held with the switch-off itself (the
      -- store holds any more in batches afterwards), so the state a reader sees is whole.
      UPDATE events SET state = 'held' WHERE id IN (
        SELECT id FROM events WHERE domain_id = d AND kind = k AND state = 'pending' ORDER BY id LIMIT hold_batch);
      RETURN '{"held": true}'::jsonb;
    END IF;
  END IF;
  IF outcome <> 'delivered' THEN
    UPDATE callbacks SET last_failure_at = t
      WHERE domain_id = d AND kind = k AND (last_failure_at IS NULL OR last_failure_at / 1000 < t / 1000);
  END IF;

  -- The queue moves on to the user's oldest pending event (after a retry: this one, or an
  -- older one a replay made pending), or closes.
  SELECT id INTO nxt FROM events WHERE domain_id = d AND kind = k AND userid = u AND state = 'pending' ORDER BY id LIMIT 1;
  IF nxt IS NULL THEN
    DELETE FROM outbox_queues WHERE domain_id = d AND kind = k AND userid = u AND locked_by = node;
    RETURN '{"held": true}'::jsonb;
  END IF;
  -- Chained (see the header): the next event, if its callback may send now.
  IF chain_until IS NOT NULL AND outcome IN ('delivered', 'failed') THEN
    SELECT jsonb_build_object('domain_id', d, 'kind', k, 'userid', u, 'id', e.id, 'webhook_id', e.webhook_id, 'body', e.body,
        'created_at', e.created_at, 'attempts', e.attempts, 'url', cb.url, 'signing_secret', cb.signing_secret,
        'previous_secret', cb.previous_secret, 'previous_secret_until', cb.previous_secret_until)
      INTO next_row FROM events e JOIN callbacks cb ON cb.domain_id = d AND cb.kind = k AND cb.enabled AND cb.url IS NOT NULL
        AND (cb.paused_until IS NULL OR cb.paused_until < t)
      WHERE e.id = nxt;
    IF next_row IS NOT NULL THEN
      UPDATE outbox_queues SET head_id = nxt, ready_at = chain_until, locked_until = chain_until
        WHERE domain_id = d AND kind = k AND userid = u AND locked_by = node;
      RETURN jsonb_build_object('held', true, 'next', next_row);
    END IF;
  END IF;
  UPDATE outbox_queues SET head_id = nxt, ready_at = move_at, locked_by = NULL, locked_until = NULL
    WHERE domain_id = d AND kind = k AND userid = u AND locked_by = node;
  RETURN '{"held": true}'::jsonb;
END
$$;

-- Generic plans, for every statement of the batch (mqchat_complete_next's too): a custom
-- plan is made for the values at hand, and for a domain that ANALYZE has not seen yet (a
-- new customer, or one whose backlog came after the last ANALYZE) every index looks like
-- one row, so "the user's oldest pending event" was found about half the time by walking
-- the domain's whole events_kind_created instead of one step of events_pending_user
-- (measured on the replay drain: 730 µs of the database's CPU a delivery instead of 140).
-- A generic plan estimates from the columns' spread, where the pending index, matching
-- three equalities, is plainly the one.
CREATE FUNCTION mqchat_complete_all_next(cs jsonb, hold_batch int) RETURNS jsonb LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
  -- (gathered as an array, appended in place, and made one jsonb at the end: a jsonb grown
  -- by || is copied whole at each step, which cost more than the completions themselves)
  out jsonb[] := '{}';
  c jsonb;
BEGIN
  -- The users first, in the writer's order (see writer.ts), as mqchat_complete_all.
  PERFORM pg_advisory_xact_lock(hashtextextended(k, 0)) FROM (
    SELECT DISTINCT (x->>'domainId') || '/' || (x->>'userid') AS k FROM jsonb_array_elements(cs) AS x ORDER BY 1) s
    ORDER BY k COLLATE "C";
  FOR c IN SELECT value FROM jsonb_array_elements(cs) LOOP
    out := array_append(out, mqchat_complete_next(c, hold_batch));
  END LOOP;
  RETURN to_jsonb(out);
END
$$;

-- The same for the batches of nodes of the previous version, during a rolling upgrade.
ALTER FUNCTION mqchat_complete_all(jsonb) SET plan_cache_mode = force_generic_plan;
