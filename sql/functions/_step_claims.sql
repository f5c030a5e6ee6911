-- What a worker needs to run each of the given steps, just leased to it (status running, a
-- new token): config, input, the outputs its expressions may read, and its state. Read in a
-- statement after the one that leased them, so it sees their new attempt and token.
-- Every row is looked up by its key, in id order, so the plan stays right even before the
-- tables have statistics.
CREATE OR REPLACE FUNCTION flowsync._step_claims(p_step_ids bigint[])
RETURNS SETOF flowsync.step_claim
LANGUAGE sql STABLE AS $$
    SELECT 'claimed'::text, s.id, s.execution_id, w.name, e.version, s.node_id, n.type, n.config,
           s.attempt, n.max_attempts, s.lease_token, n.timeout_ms, e.input,
           CASE WHEN cardinality(n.context_nodes) = 0 THEN '{}'::jsonb ELSE (
               SELECT coalesce(jsonb_object_agg(u.node_id, jsonb_build_object('output', u.output)),
                               '{}'::jsonb)
               FROM unnest(n.context_nodes) AS c(node_idx)
               CROSS JOIN LATERAL (
                   SELECT x.node_id, x.output FROM flowsync.steps x
                   WHERE x.execution_id = s.execution_id AND x.node_idx = c.node_idx
                     AND x.status = 'succeeded'
                   OFFSET 0  -- one unique-key lookup per node, whatever the statistics say
               ) u) END,
           s.state
    -- (a LATERAL subquery with OFFSET 0 is one index lookup per outer row that the planner
    -- cannot reorder)
    FROM unnest(p_step_ids) AS q(id)
    CROSS JOIN LATERAL (SELECT * FROM flowsync.steps s WHERE s.id = q.id OFFSET 0) s
    CROSS JOIN LATERAL (
        SELECT * FROM flowsync.executions e WHERE e.id = s.execution_id OFFSET 0) e
    CROSS JOIN LATERAL (
        SELECT w.name FROM flowsync.workflows w WHERE w.id = e.workflow_id OFFSET 0) w
    CROSS JOIN LATERAL (
        SELECT * FROM flowsync.workflow_nodes n
        WHERE n.workflow_id = e.workflow_id AND n.version = e.version AND n.node_idx = s.node_idx
        OFFSET 0) n
    ORDER BY s.id
$$;
