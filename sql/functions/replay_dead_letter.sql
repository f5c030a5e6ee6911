-- Re-run one failed or dead step and what depends on it: resume_execution limited to that
-- step, found by the step's id alone (POST /dead-letters/{step_id}/replay in one round trip).
-- Returns the step's execution and node with the result: 'resumed'; 'not_found' when the step
-- is not (or no longer) failed or dead; or the status of an execution that is not failed.
CREATE OR REPLACE FUNCTION flowsync.replay_dead_letter(
    p_step_id  bigint,
    p_actor    text DEFAULT NULL,
    p_now      timestamptz DEFAULT now()
) RETURNS TABLE (result text, execution_id uuid, node_id text)
LANGUAGE plpgsql AS $$
DECLARE
    v_execution_id  uuid;
    v_node_id       text;
BEGIN
    SELECT s.execution_id INTO v_execution_id FROM flowsync.steps s WHERE s.id = p_step_id;
    -- The execution's lock before the step's status is read: a replay of the same step that
    -- commits meanwhile makes this one 'not_found', not a conflict with the running execution.
    PERFORM FROM flowsync.executions e WHERE e.id = v_execution_id FOR UPDATE;
    SELECT s.node_id INTO v_node_id FROM flowsync.steps s
    WHERE s.id = p_step_id AND s.status IN ('failed', 'dead');
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'not_found'::text, NULL::uuid, NULL::text;
        RETURN;
    END IF;
    RETURN QUERY SELECT flowsync.resume_execution(v_execution_id, ARRAY[p_step_id], p_actor, p_now),
                        v_execution_id, v_node_id;
END;
$$;
