-- running -> succeeded | failed for executions whose steps are all terminal. The output is
-- the `$output` step's (a declared output mapping), else an object of the succeeded leaf
-- steps' outputs; a failed execution's error lists the steps that failed it.
CREATE OR REPLACE FUNCTION flowsync._finish_executions(
    p_execution_ids  uuid[],
    p_now            timestamptz
) RETURNS void
LANGUAGE sql AS $$
    WITH leaf_outputs AS (
        SELECT s.execution_id, jsonb_object_agg(s.node_id, s.output) AS output
        FROM unnest(p_execution_ids) AS d(id)
        JOIN flowsync.executions e ON e.id = d.id
        JOIN flowsync.workflow_nodes n
          ON n.workflow_id = e.workflow_id AND n.version = e.version AND n.is_leaf
        JOIN flowsync.steps s ON s.execution_id = e.id AND s.node_idx = n.node_idx
        WHERE s.status = 'succeeded'
        GROUP BY s.execution_id
    )
    UPDATE flowsync.executions e
    SET status = CASE WHEN e.steps_failed > 0 THEN 'failed'::flowsync.execution_status
                      ELSE 'succeeded'::flowsync.execution_status END,
        started_at = coalesce(e.started_at, p_now),
        finished_at = p_now,
        output = CASE WHEN e.steps_failed > 0 THEN NULL
                      WHEN o.output ? '$output' THEN o.output -> '$output'
                      ELSE coalesce(o.output, '{}'::jsonb) END,
        error = CASE WHEN e.steps_failed > 0 THEN (
            SELECT jsonb_build_object(
                       'message', format('%s step(s) failed', count(*)),
                       'steps', jsonb_agg(jsonb_build_object(
                           'node_id', s.node_id, 'status', s.status, 'error', s.error)
                           ORDER BY s.id))
            FROM flowsync.steps s
            JOIN flowsync.workflow_nodes n
              ON n.workflow_id = e.workflow_id AND n.version = e.version
             AND n.node_idx = s.node_idx
            WHERE s.execution_id = e.id AND s.status IN ('failed', 'dead')
              AND NOT n.continue_on_failure) END
    FROM unnest(p_execution_ids) AS d(id)
    LEFT JOIN leaf_outputs o ON o.execution_id = d.id
    WHERE e.id = d.id AND e.status IN ('queued', 'running')
$$;
