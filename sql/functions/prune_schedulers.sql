-- Retention for scheduler rows: delete those that stopped, or were last seen, before
-- p_older_than (never the leader's). Returns how many.
CREATE OR REPLACE FUNCTION flowsync.prune_schedulers(p_older_than timestamptz) RETURNS integer
LANGUAGE sql AS $$
    WITH deleted AS (
        DELETE FROM flowsync.schedulers s
        WHERE s.leader_since IS NULL AND coalesce(s.stopped_at, s.last_seen_at) < p_older_than
        RETURNING 1
    )
    SELECT count(*)::integer FROM deleted
$$;
