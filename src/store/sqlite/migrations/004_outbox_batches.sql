-- Replays run in batches (so a large one never holds the writer for long); while one runs,
-- claims for its callback pause until this time (unix ms), so that each user's events still
-- go out oldest first. A replay whose node died lets go when the time passes.
ALTER TABLE callbacks ADD COLUMN paused_until INTEGER;

-- The node that wrote a user's presence. The embedded database has one live node, the
-- process that opened it; a present user written by any other node id was left so by a crash.
ALTER TABLE presence ADD COLUMN node_id TEXT;
