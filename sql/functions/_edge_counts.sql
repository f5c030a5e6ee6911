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
    FROM unnest(p_upstream) AS f(id)
    JOIN flowsync.steps u ON u.id = f.id
    JOIN flowsync.executions x ON x.id = u.execution_id
    JOIN flowsync.workflow_edges e
      ON e.workflow_id = x.workflow_id AND e.version = x.version AND e.from_idx = u.node_idx
    GROUP BY u.execution_id, e.to_idx
$$;
