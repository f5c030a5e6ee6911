-- Send steps that just became ready (status queued) on their way: up to p_limit of them in
-- p_queues go straight to p_worker (leased, returned), the rest become jobs. This is how a
-- worker finishing a step gets the next step of a chain without another round trip.
CREATE OR REPLACE FUNCTION flowsync._dispatch(
    p_ready     bigint[],
    p_worker    text,
    p_queues    text[],
    p_limit     integer,
    p_lease_ms  integer,
    p_now       timestamptz
) RETURNS SETOF flowsync.step_claim
LANGUAGE plpgsql AS $$
DECLARE
    v_handoff bigint[] := '{}';
    v_rest    bigint[];
BEGIN
    IF coalesce(cardinality(p_ready), 0) = 0 THEN
        RETURN;
    END IF;
    IF p_worker IS NOT NULL AND p_limit > 0 THEN
        SELECT coalesce(array_agg(x.id), '{}') INTO v_handoff
        FROM (
            SELECT s.id
            FROM unnest(p_ready) AS r(id)
            -- (key lookups in this order, whatever the statistics say: see _lease_steps)
            CROSS JOIN LATERAL (SELECT * FROM flowsync.steps s WHERE s.id = r.id OFFSET 0) s
            CROSS JOIN LATERAL (
                SELECT e.workflow_id, e.version FROM flowsync.executions e
                WHERE e.id = s.execution_id OFFSET 0) e
            CROSS JOIN LATERAL (
                SELECT n.queue FROM flowsync.workflow_nodes n
                WHERE n.workflow_id = e.workflow_id AND n.version = e.version AND n.node_idx = s.node_idx
                OFFSET 0) n
            WHERE n.queue = ANY (p_queues)
            ORDER BY s.id
            LIMIT p_limit
        ) x;
    END IF;

    v_rest := ARRAY(SELECT unnest(p_ready) EXCEPT SELECT unnest(v_handoff));
    IF cardinality(v_rest) > 0 THEN
        INSERT INTO flowsync.jobs (step_id, queue, run_at)
        SELECT s.id, n.queue, p_now
        FROM unnest(v_rest) AS r(id)
        CROSS JOIN LATERAL (SELECT * FROM flowsync.steps s WHERE s.id = r.id OFFSET 0) s
        CROSS JOIN LATERAL (
            SELECT e.workflow_id, e.version FROM flowsync.executions e
            WHERE e.id = s.execution_id OFFSET 0) e
        CROSS JOIN LATERAL (
            SELECT n.queue FROM flowsync.workflow_nodes n
            WHERE n.workflow_id = e.workflow_id AND n.version = e.version AND n.node_idx = s.node_idx
            OFFSET 0) n;
        PERFORM flowsync._notify_jobs(v_rest);
    END IF;

    RETURN QUERY SELECT * FROM flowsync._lease_steps(v_handoff, p_worker, p_lease_ms, p_now);
END;
$$;
