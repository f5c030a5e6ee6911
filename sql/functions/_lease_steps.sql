-- queued -> running for the given steps, under a new lease for p_worker; returns what the
-- worker needs to run each one (config, input, the outputs its expressions may read).
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
            lease_expires_at = p_now + make_interval(secs => p_lease_ms / 1000.0),
            worker_id = p_worker,
            started_at = p_now
        FROM unnest(p_step_ids) AS q(id)
        WHERE s.id = q.id AND s.status = 'queued'
        RETURNING s.id, s.execution_id, s.node_idx, s.node_id, s.attempt, s.lease_token, s.state
    )
    SELECT 'claimed'::text, l.id, l.execution_id, w.name, e.version, l.node_id, n.type, n.config,
           l.attempt, n.max_attempts, l.lease_token, n.timeout_ms, e.input,
           (SELECT coalesce(jsonb_object_agg(u.node_id, jsonb_build_object('output', u.output)),
                            '{}'::jsonb)
            FROM flowsync.steps u
            WHERE u.execution_id = l.execution_id AND u.node_idx = ANY (n.context_nodes)
              AND u.status = 'succeeded'),
           l.state
    FROM leased l
    JOIN flowsync.executions e ON e.id = l.execution_id
    JOIN flowsync.workflows w ON w.id = e.workflow_id
    JOIN flowsync.workflow_nodes n
      ON n.workflow_id = e.workflow_id AND n.version = e.version AND n.node_idx = l.node_idx
    ORDER BY l.id;

    -- An execution starts running with its first step. Lock in id order: every function
    -- that locks several executions does, so they cannot deadlock with each other.
    UPDATE flowsync.executions e SET status = 'running', started_at = p_now
    FROM (
        SELECT x.id FROM flowsync.executions x
        WHERE x.id IN (SELECT s.execution_id FROM unnest(p_step_ids) AS q(id)
                       JOIN flowsync.steps s ON s.id = q.id)
          AND x.status = 'queued'
        ORDER BY x.id
        FOR UPDATE
    ) l
    WHERE e.id = l.id;
END;
$$;
