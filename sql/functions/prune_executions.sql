-- Retention: delete up to p_limit finished executions (succeeded, failed, cancelled) that
-- finished before p_older_than, oldest created first, with their steps, attempts, logs and events (ON
-- DELETE CASCADE). Queued and running executions are never touched; executions another
-- transaction holds (a resume in progress) are skipped. Returns how many it deleted: call it
-- again while that equals p_limit. Safe to run from many processes at once.
CREATE OR REPLACE FUNCTION flowsync.prune_executions(
    p_older_than  timestamptz,
    p_limit       integer DEFAULT 500
) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_ids uuid[];
BEGIN
    SELECT array_agg(x.id) INTO v_ids FROM (
        SELECT e.id FROM flowsync.executions e
        -- Oldest created first, through executions_created_at_idx (no index reads
        -- finished_at: finishing an execution stays a HOT update).
        WHERE e.created_at < p_older_than AND e.finished_at < p_older_than
          AND e.status IN ('succeeded', 'failed', 'cancelled')
        ORDER BY e.created_at, e.id
        LIMIT p_limit
        FOR UPDATE SKIP LOCKED
    ) x;
    IF v_ids IS NULL THEN
        RETURN 0;
    END IF;
    -- A finished execution has no jobs (every function deletes a step's job when it ends the
    -- step), and jobs have no foreign key: make sure none can outlive its step.
    DELETE FROM flowsync.jobs j
    USING flowsync.steps s
    WHERE j.step_id = s.id AND s.execution_id = ANY (v_ids);
    DELETE FROM flowsync.executions e WHERE e.id = ANY (v_ids);
    RETURN cardinality(v_ids);
END;
$$;
