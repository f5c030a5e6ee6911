-- Retention for worker rows: delete up to p_limit workers that stopped before p_older_than,
-- or vanished (no word since p_older_than and no running step). Idle workers do not write
-- last_seen_at, so a live worker idle for the whole retention period loses its row (it only
-- describes the worker; nothing depends on it). Returns how many.
CREATE OR REPLACE FUNCTION flowsync.prune_workers(
    p_older_than  timestamptz,
    p_limit       integer DEFAULT 500
) RETURNS integer
LANGUAGE sql AS $$
    WITH doomed AS (
        SELECT w.id FROM flowsync.workers w
        WHERE coalesce(w.stopped_at, w.last_seen_at) < p_older_than
          AND NOT EXISTS (SELECT 1 FROM flowsync.leases l WHERE l.worker_id = w.id)
        LIMIT p_limit
        FOR UPDATE OF w SKIP LOCKED
    ), deleted AS (
        DELETE FROM flowsync.workers w USING doomed d WHERE w.id = d.id RETURNING 1
    )
    SELECT count(*)::integer FROM deleted
$$;
