-- What finished upstream steps contribute to their dependents, per (execution, dependent
-- node): edges that succeeded (a condition edge only on its outcome), failed, or were skipped
-- (the upstream was skipped, or a condition chose another branch). The one place that says
-- how an edge counts; _settle and resume_execution add these to steps' dependency counters.
CREATE OR REPLACE FUNCTION flowsync._edge_counts(p_upstream bigint[])
RETURNS TABLE (execution_id uuid, to_idx integer, ok integer, failed integer, skipped integer)
LANGUAGE sql STABLE AS $$
    SELECT u.execution_id, e.to_idx,
           count(*) FILTER (WHERE u.status = 'succeeded'
                              AND (e.when_value IS NULL OR e.when_value = u.outcome))::int,
           count(*) FILTER (WHERE u.status IN ('failed', 'dead', 'cancelled'))::int,
           count(*) FILTER (WHERE u.status = 'skipped'
                              OR (u.status = 'succeeded' AND e.when_value IS NOT NULL
                                  AND e.when_value IS DISTINCT FROM u.outcome))::int
    -- Key lookups in this order, whatever the statistics say (see _step_claims): a planner
    -- left to itself may read every edge of the version for every upstream step.
    FROM unnest(p_upstream) AS f(id)
    CROSS JOIN LATERAL (SELECT * FROM flowsync.steps u WHERE u.id = f.id OFFSET 0) u
    CROSS JOIN LATERAL (
        SELECT x.workflow_id, x.version FROM flowsync.executions x
        WHERE x.id = u.execution_id OFFSET 0) x
    CROSS JOIN LATERAL (
        SELECT e.to_idx, e.when_value FROM flowsync.workflow_edges e
        WHERE e.workflow_id = x.workflow_id AND e.version = x.version AND e.from_idx = u.node_idx
        OFFSET 0) e
    GROUP BY u.execution_id, e.to_idx
$$;
