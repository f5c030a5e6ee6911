-- Retention: delete up to p_limit fire records fired before p_older_than and, within the
-- same budget, processed events processed before it. A pruned dedupe key can fire again, so
-- the cutoff is the dedupe window. Returns how many rows went; loop until it returns 0.
CREATE OR REPLACE FUNCTION flowsync.prune_trigger_fires(
    p_older_than  timestamptz,
    p_limit       integer DEFAULT 10000
) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_fires   integer;
    v_events  integer := 0;
BEGIN
    DELETE FROM flowsync.trigger_fires f WHERE f.id IN (
        SELECT x.id FROM flowsync.trigger_fires x
        WHERE x.fired_at < p_older_than
        ORDER BY x.fired_at, x.id LIMIT p_limit);
    GET DIAGNOSTICS v_fires = ROW_COUNT;

    IF v_fires < p_limit THEN
        DELETE FROM flowsync.events e WHERE e.id IN (
            SELECT x.id FROM flowsync.events x
            WHERE x.processed_at < p_older_than
            ORDER BY x.processed_at LIMIT p_limit - v_fires);
        GET DIAGNOSTICS v_events = ROW_COUNT;
    END IF;
    RETURN v_fires + v_events;
END;
$$;
