-- The error of an execution that steps failed: the steps that did, with their errors.
CREATE OR REPLACE FUNCTION flowsync._execution_error(
    p_execution_id uuid, p_workflow_id bigint, p_version integer
) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
               'message', format('%s step(s) failed', count(*)),
               'steps', jsonb_agg(jsonb_build_object(
                   'node_id', s.node_id, 'status', s.status, 'error', s.error) ORDER BY s.id))
    FROM flowsync.steps s
    JOIN flowsync.workflow_nodes n
      ON n.workflow_id = p_workflow_id AND n.version = p_version AND n.node_idx = s.node_idx
    WHERE s.execution_id = p_execution_id AND s.status IN ('failed', 'dead')
      AND NOT n.continue_on_failure
$$;
