-- A step's node in the version its execution runs.
CREATE OR REPLACE FUNCTION flowsync._step_node(p_step flowsync.steps)
RETURNS flowsync.workflow_nodes
LANGUAGE sql STABLE AS $$
    SELECT n.* FROM flowsync.executions e
    JOIN flowsync.workflow_nodes n
      ON n.workflow_id = e.workflow_id AND n.version = e.version AND n.node_idx = p_step.node_idx
    WHERE e.id = p_step.execution_id
$$;
