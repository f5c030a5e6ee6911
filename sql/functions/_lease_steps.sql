-- queued -> running for the given steps, under a new lease for p_worker (a new token, and a
-- row in flowsync.leases); returns what the worker needs to run each one (config, input, the
-- outputs its expressions may read).
-- Their executions are already running, except for steps claimed from the job table:
-- claim_steps starts those.
-- Every statement is driven by the id arrays through primary-key lookups, so its plan stays
-- right even before the tables have statistics.
CREATE OR REPLACE FUNCTION flowsync._lease_steps(
    p_step_ids  bigint[],
    p_worker    text,
    p_lease_ms  integer,
    p_now       timestamptz
) RETURNS SETOF flowsync.step_claim
LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(cardinality(p_step_ids), 0) = 0 THEN
        RETURN;
    END IF;

    RETURN QUERY
    WITH leased AS (
        UPDATE flowsync.steps s
        SET status = 'running',
            attempt = s.attempt + 1,
            lease_token = gen_random_uuid(),
            worker_id = p_worker,
            started_at = p_now
        WHERE s.id = ANY (p_step_ids) AND s.status = 'queued'
        RETURNING s.id, s.execution_id, s.node_idx, s.node_id, s.attempt, s.lease_token, s.state
    ), held AS (
        INSERT INTO flowsync.leases (step_id, worker_id, expires_at)
        SELECT l.id, p_worker, p_now + make_interval(secs => p_lease_ms / 1000.0) FROM leased l
    )
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
    -- Each row by its key, in this order, whatever the statistics say: a LATERAL subquery
    -- with OFFSET 0 is one index lookup per outer row that the planner cannot reorder.
    FROM leased s
    CROSS JOIN LATERAL (
        SELECT * FROM flowsync.executions e WHERE e.id = s.execution_id OFFSET 0) e
    CROSS JOIN LATERAL (
        SELECT w.name FROM flowsync.workflows w WHERE w.id = e.workflow_id OFFSET 0) w
    CROSS JOIN LATERAL (
        SELECT * FROM flowsync.workflow_nodes n
        WHERE n.workflow_id = e.workflow_id AND n.version = e.version AND n.node_idx = s.node_idx
        OFFSET 0) n
    ORDER BY s.id;
END;
$$;
