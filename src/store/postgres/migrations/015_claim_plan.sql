-- The claim of migration 012, with the head's state read by its id. Written as a join
-- (events e ON e.id = q.head_id AND e.state = 'pending'), the head matched the predicate
-- of the partial index events_pending_user, and once ANALYZE had seen few pending events
-- (the usual case: nearly every event is delivered) the planner chose to walk that whole
-- index for each queue, instead of one look-up by id: with a backlog of 10,000 pending
-- events a claim took 500 ms instead of 2 (measured on a drain after VACUUM ANALYZE). A
-- subquery by id can only use the primary key, whatever the statistics say.
CREATE OR REPLACE FUNCTION mqchat_claim(p_domain text, p_now bigint, p_node text, p_lease_until bigint, p_limit int)
RETURNS TABLE (domain_id text, kind text, userid bigint, id bigint, webhook_id text, body text, created_at bigint, attempts int,
  url text, signing_secret text, previous_secret text, previous_secret_until bigint)
LANGUAGE sql AS $$
  SELECT set_config('synchronous_commit', 'off', true);
  WITH picked AS (
      SELECT q.domain_id, q.kind, q.userid, q.ready_at FROM outbox_queues q
      JOIN callbacks c ON c.domain_id = q.domain_id AND c.kind = q.kind AND c.enabled AND c.url IS NOT NULL
        AND (c.paused_until IS NULL OR c.paused_until < p_now)
      WHERE q.domain_id = p_domain AND q.ready_at <= p_now AND (q.locked_until IS NULL OR q.locked_until < p_now)
        AND (SELECT e.state FROM events e WHERE e.id = q.head_id) = 'pending'
      ORDER BY q.ready_at LIMIT p_limit
      FOR UPDATE OF q SKIP LOCKED),
    leased AS (
      UPDATE outbox_queues q SET locked_by = p_node, locked_until = p_lease_until, ready_at = p_lease_until FROM picked p
      WHERE q.domain_id = p.domain_id AND q.kind = p.kind AND q.userid = p.userid
      RETURNING q.domain_id, q.kind, q.userid, q.head_id, p.ready_at)
  SELECT l.domain_id, l.kind, l.userid, e.id, e.webhook_id, e.body, e.created_at, e.attempts,
    c.url, c.signing_secret, c.previous_secret, c.previous_secret_until
  FROM leased l JOIN events e ON e.id = l.head_id JOIN callbacks c ON c.domain_id = l.domain_id AND c.kind = l.kind
  ORDER BY l.ready_at;
$$;
