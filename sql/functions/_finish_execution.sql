-- running -> succeeded | failed once every step is terminal. The output is the `$output`
-- step's (a declared output mapping), else an object of the succeeded leaf steps' outputs.
CREATE OR REPLACE FUNCTION flowsync._finish_execution(
    p_execution_id  uuid,
    p_now           timestamptz
) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_exec    flowsync.executions;
    v_output  jsonb;
    v_failed  jsonb;
BEGIN
    SELECT * INTO v_exec FROM flowsync.executions e WHERE e.id = p_execution_id;

    SELECT s.output INTO v_output
    FROM flowsync.steps s WHERE s.execution_id = p_execution_id AND s.node_id = '$output';
    IF NOT FOUND THEN
        SELECT coalesce(jsonb_object_agg(s.node_id, s.output), '{}'::jsonb) INTO v_output
        FROM flowsync.steps s
        JOIN flowsync.workflow_nodes n
          ON n.workflow_id = v_exec.workflow_id AND n.version = v_exec.version
         AND n.node_idx = s.node_idx
        WHERE s.execution_id = p_execution_id AND n.is_leaf AND s.status = 'succeeded';
    END IF;

    IF v_exec.steps_failed > 0 THEN
        SELECT jsonb_build_object(
                   'message', format('%s step(s) failed', count(*)),
                   'steps', jsonb_agg(jsonb_build_object('node_id', s.node_id,
                                                         'status', s.status,
                                                         'error', s.error) ORDER BY s.id))
        INTO v_failed
        FROM flowsync.steps s
        JOIN flowsync.workflow_nodes n
          ON n.workflow_id = v_exec.workflow_id AND n.version = v_exec.version
         AND n.node_idx = s.node_idx
        WHERE s.execution_id = p_execution_id AND s.status IN ('failed', 'dead')
          AND NOT n.continue_on_failure;
    END IF;

    UPDATE flowsync.executions e
    SET status = CASE WHEN v_exec.steps_failed > 0 THEN 'failed'::flowsync.execution_status
                      ELSE 'succeeded'::flowsync.execution_status END,
        started_at = coalesce(e.started_at, p_now),
        finished_at = p_now,
        output = CASE WHEN v_exec.steps_failed > 0 THEN NULL ELSE v_output END,
        error = v_failed
    WHERE e.id = p_execution_id;
END;
$$;
