-- What a finished execution reports. Output: the `$output` step's (a declared output
-- mapping), else an object of its succeeded leaf steps' outputs. Error (when steps failed
-- it): the steps that did, with their errors. Both read one execution's steps by index.
CREATE OR REPLACE FUNCTION flowsync._execution_output(
    p_execution_id uuid, p_workflow_id bigint, p_version integer
) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN bool_or(s.node_id = '$output')
                THEN jsonb_object_agg(s.node_id, s.output) -> '$output'
                ELSE coalesce(jsonb_object_agg(s.node_id, s.output), '{}'::jsonb) END
    FROM flowsync.steps s
    JOIN flowsync.workflow_nodes n
      ON n.workflow_id = p_workflow_id AND n.version = p_version AND n.node_idx = s.node_idx
    WHERE s.execution_id = p_execution_id AND s.status = 'succeeded' AND n.is_leaf
$$;

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
