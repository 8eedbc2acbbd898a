-- How an attempt ends (the embedded store's OutboxSql.complete, as one function): a batch of
-- completions is one round trip and one commit. The attempt is always logged; its
-- consequences apply only while `nodeId` holds the lease on the event's queue.
CREATE FUNCTION mqchat_complete(c jsonb) RETURNS boolean LANGUAGE plpgsql AS $$
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
BEGIN
  INSERT INTO callback_logs (domain_id, kind, event_id, webhook_id, at, url, request_headers, request_body,
      response_status, response_body, duration_ms, error, attempt, result)
    VALUES (l->>'domainId', l->>'kind', (l->>'eventId')::bigint, l->>'webhookId', (l->>'at')::bigint, l->>'url',
      (l->'requestHeaders')::text, l->>'requestBody', (l->>'responseStatus')::integer, l->>'responseBody',
      (l->>'durationMs')::integer, l->>'error', (l->>'attempt')::integer, l->>'result');

  PERFORM 1 FROM outbox_queues
    WHERE domain_id = d AND kind = k AND userid = u AND locked_by = node AND head_id = ev FOR UPDATE;
  IF NOT FOUND THEN
    RETURN false;
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
      -- The first 5,000 of its pending events are held with the switch-off itself (the
      -- store holds any more in batches afterwards), so the state a reader sees is whole.
      UPDATE events SET state = 'held' WHERE id IN (
        SELECT id FROM events WHERE domain_id = d AND kind = k AND state = 'pending' ORDER BY id LIMIT 5000);
      RETURN true;
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
  ELSE
    UPDATE outbox_queues SET head_id = nxt, ready_at = move_at, locked_by = NULL, locked_until = NULL
      WHERE domain_id = d AND kind = k AND userid = u AND locked_by = node;
  END IF;
  RETURN true;
END
$$;

CREATE FUNCTION mqchat_complete_all(cs jsonb) RETURNS boolean[] LANGUAGE plpgsql AS $$
DECLARE
  out boolean[] := '{}';
  c jsonb;
BEGIN
  -- The users first, in the writer's order (see writer.ts): a batch of completions and a
  -- batch of new events that touch the same users' queues then never deadlock.
  PERFORM pg_advisory_xact_lock(hashtextextended(k, 0)) FROM (
    SELECT DISTINCT (x->>'domainId') || '/' || (x->>'userid') AS k FROM jsonb_array_elements(cs) AS x ORDER BY 1) s
    ORDER BY k COLLATE "C";
  FOR c IN SELECT value FROM jsonb_array_elements(cs) LOOP
    out := out || mqchat_complete(c);
  END LOOP;
  RETURN out;
END
$$;
