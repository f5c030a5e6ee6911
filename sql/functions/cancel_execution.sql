-- queued|running -> cancelled, with every open step: pending, queued (their jobs deleted)
-- and running (their leases revoked, so the workers' reports are rejected and heartbeats tell
-- them to stop). Returns 'cancelled', 'not_found', or 'already_<status>' for an execution
-- that had already finished (which is left as it was).
CREATE OR REPLACE FUNCTION flowsync.cancel_execution(
    p_execution_id  uuid,
    p_reason        text DEFAULT NULL,
    p_actor         text DEFAULT NULL,
    p_now           timestamptz DEFAULT now()
) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_status    flowsync.execution_status;
    v_cancelled bigint[];
BEGIN
    SELECT e.status INTO v_status FROM flowsync.executions e WHERE e.id = p_execution_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 'not_found';
    ELSIF v_status NOT IN ('queued', 'running') THEN
        RETURN 'already_' || v_status::text;
    END IF;

    PERFORM flowsync._record_attempts(
        ARRAY(SELECT s.id FROM flowsync.steps s
              WHERE s.execution_id = p_execution_id AND s.status = 'running'),
        'cancelled', NULL, p_now);

    WITH cancelled AS (
        UPDATE flowsync.steps s
        SET status = 'cancelled', lease_token = NULL, finished_at = p_now
        WHERE s.execution_id = p_execution_id AND s.status IN ('pending', 'queued', 'running')
        RETURNING s.id
    )
    SELECT array_agg(id) INTO v_cancelled FROM cancelled;
    DELETE FROM flowsync.leases l WHERE l.step_id = ANY (v_cancelled);

    -- Their jobs. After the steps (a step handed back meanwhile is cancelled too, and its
    -- new job seen here); SKIP LOCKED: a job a claimer holds is either deleted by that claim,
    -- which then finds the step cancelled and leases nothing, or left (a claim locks up to
    -- its limit per queue but takes its limit in all): the next claim deletes it the same way.
    DELETE FROM flowsync.jobs j
    WHERE j.step_id IN (SELECT k.step_id FROM flowsync.jobs k
                        WHERE k.step_id = ANY (v_cancelled)
                        FOR UPDATE SKIP LOCKED);

    UPDATE flowsync.executions e
    SET status = 'cancelled', finished_at = p_now, steps_open = 0,
        error = jsonb_build_object('message', 'cancelled', 'reason', p_reason)
    WHERE e.id = p_execution_id;

    INSERT INTO flowsync.execution_events (execution_id, at, kind, detail)
    VALUES (p_execution_id, p_now, 'cancelled',
            jsonb_strip_nulls(jsonb_build_object('reason', p_reason, 'actor', p_actor)));
    RETURN 'cancelled';
END;
$$;
