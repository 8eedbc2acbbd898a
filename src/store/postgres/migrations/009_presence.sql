-- One presence per user across every node sharing this database (SPEC §3, §6). Each node
-- counts its own sockets per user here; a user is present while any node has one. The grace
-- time of a user whose last socket closed is kept as a due time that any node can honour,
-- so a user still goes offline if the node that set it dies.
CREATE TABLE connections (
  domain_id  text NOT NULL,
  userid     bigint NOT NULL,
  node_id    text NOT NULL,
  sockets    integer NOT NULL CHECK (sockets > 0),
  PRIMARY KEY (domain_id, userid, node_id)
);
CREATE INDEX connections_node ON connections (node_id);

ALTER TABLE presence ADD COLUMN offline_due_at bigint;
CREATE INDEX presence_due ON presence (offline_due_at) WHERE offline_due_at IS NOT NULL;

-- Writes one event and opens its user's queue (the writer's batched insert, for one row).
CREATE FUNCTION mqchat_write_event(d text, k text, u bigint, w text, b text, t bigint, ready bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  ev bigint;
  st text;
BEGIN
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

-- A socket of user u opened on `node`. The user's row is locked while it changes, so two
-- nodes cannot both see it offline. Answers true when the user came online (its event written).
CREATE FUNCTION mqchat_presence_connect(d text, u bigint, node text, t bigint, w text, b text, ready bigint) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
  st text;
BEGIN
  INSERT INTO presence (domain_id, userid, status, changed_at, node_id) VALUES (d, u, 'offline', t, node) ON CONFLICT DO NOTHING;
  SELECT status INTO st FROM presence WHERE domain_id = d AND userid = u FOR UPDATE;
  INSERT INTO connections (domain_id, userid, node_id, sockets) VALUES (d, u, node, 1)
    ON CONFLICT (domain_id, userid, node_id) DO UPDATE SET sockets = connections.sockets + 1;
  IF st <> 'offline' THEN
    -- Back within the grace time: no change, the status set before holds.
    UPDATE presence SET offline_due_at = NULL WHERE domain_id = d AND userid = u;
    RETURN false;
  END IF;
  UPDATE presence SET status = 'online', changed_at = t, node_id = node, offline_due_at = NULL WHERE domain_id = d AND userid = u;
  PERFORM mqchat_write_event(d, 'presence', u, w, b, t, ready);
  RETURN true;
END
$$;

-- A socket of user u closed on `node`. When it was the user's last anywhere, the user is
-- due to go offline at `due` unless a socket opens before then.
CREATE FUNCTION mqchat_presence_disconnect(d text, u bigint, node text, due bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM presence WHERE domain_id = d AND userid = u FOR UPDATE;
  UPDATE connections SET sockets = sockets - 1 WHERE domain_id = d AND userid = u AND node_id = node AND sockets > 1;
  IF NOT FOUND THEN
    DELETE FROM connections WHERE domain_id = d AND userid = u AND node_id = node;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM connections WHERE domain_id = d AND userid = u) THEN
    UPDATE presence SET offline_due_at = due WHERE domain_id = d AND userid = u AND status <> 'offline';
  END IF;
END
$$;

-- The user's own status (online, away, busy): only while it has a socket somewhere.
CREATE FUNCTION mqchat_presence_status(d text, u bigint, s text, node text, t bigint, w text, b text, ready bigint) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  UPDATE presence SET status = s, changed_at = t, node_id = node
    WHERE domain_id = d AND userid = u AND status <> 'offline' AND status <> s
      AND EXISTS (SELECT 1 FROM connections c WHERE c.domain_id = d AND c.userid = u);
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  PERFORM mqchat_write_event(d, 'presence', u, w, b, t, ready);
  RETURN true;
END
$$;

-- The user goes offline at t, if it still has no socket anywhere and is not offline already,
-- and (with `due_only`) its grace time has run out. Re-checked under the row lock: whichever
-- node gets here first writes the one event; the others find nothing to do.
CREATE FUNCTION mqchat_presence_offline(d text, u bigint, t bigint, due_only boolean, now_ms bigint, w text, b text, ready bigint) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  UPDATE presence p SET status = 'offline', changed_at = t, offline_due_at = NULL
    WHERE p.domain_id = d AND p.userid = u AND p.status <> 'offline'
      AND NOT EXISTS (SELECT 1 FROM connections c WHERE c.domain_id = d AND c.userid = u)
      AND (NOT due_only OR p.offline_due_at <= now_ms);
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  PERFORM mqchat_write_event(d, 'presence', u, w, b, t, ready);
  RETURN true;
END
$$;
