-- A leased queue is ready again when its lease ends (if its holder never completes it), and
-- its ready_at now says so: the claim's range of ready queues (outbox_queues_domain, by
-- ready_at) no longer holds the queues in flight, which every claim stepped over one by one
-- (a domain's 64 deliveries in flight, at each claim). Completing a delivery sets ready_at
-- anew, as before; a lease given up (a clean stop, a lost claim, a gone node) is ready at
-- once. The claim of migration 011, with that one change.
CREATE OR REPLACE FUNCTION mqchat_claim(p_domain text, p_now bigint, p_node text, p_lease_until bigint, p_limit int)
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
      UPDATE outbox_queues q SET locked_by = p_node, locked_until = p_lease_until, ready_at = p_lease_until FROM picked p
      WHERE q.domain_id = p.domain_id AND q.kind = p.kind AND q.userid = p.userid
      RETURNING q.domain_id, q.kind, q.userid, q.head_id, p.ready_at)
  SELECT l.domain_id, l.kind, l.userid, e.id, e.webhook_id, e.body, e.created_at, e.attempts,
    c.url, c.signing_secret, c.previous_secret, c.previous_secret_until
  FROM leased l JOIN events e ON e.id = l.head_id JOIN callbacks c ON c.domain_id = l.domain_id AND c.kind = l.kind
  ORDER BY l.ready_at;
$$;
