-- Send steps that just became ready (status queued) on their way: up to p_limit of them in
-- p_queues go straight to p_worker (leased, returned), the rest become jobs. This is how a
-- worker finishing a step gets the next step of a chain without another round trip.
CREATE OR REPLACE FUNCTION flowsync._dispatch(
    p_ready     flowsync.ready_steps,
    p_worker    text,
    p_queues    text[],
    p_limit     integer,
    p_lease_ms  integer,
    p_now       timestamptz
) RETURNS SETOF flowsync.step_claim
LANGUAGE plpgsql AS $$
DECLARE
    v_handoff     bigint[];
    v_rest        bigint[];
    v_rest_queues text[];
BEGIN
    IF coalesce(cardinality(p_ready.ids), 0) = 0 THEN
        RETURN;
    END IF;

    -- The first p_limit in the worker's queues, by id, are handed to it; a NULL argument
    -- hands nothing off.
    SELECT coalesce(array_agg(r.id ORDER BY r.id) FILTER (WHERE r.handoff), '{}'),
           array_agg(r.id) FILTER (WHERE NOT r.handoff),
           array_agg(r.queue) FILTER (WHERE NOT r.handoff)
    INTO v_handoff, v_rest, v_rest_queues
    FROM (
        SELECT q.id, q.queue,
               coalesce(p_worker IS NOT NULL AND q.queue = ANY (p_queues)
                        AND row_number() OVER (PARTITION BY q.queue = ANY (p_queues)
                                               ORDER BY q.id) <= p_limit,
                        false) AS handoff
        FROM unnest(p_ready.ids, p_ready.queues) AS q(id, queue)
    ) r;

    IF v_rest IS NOT NULL THEN
        INSERT INTO flowsync.jobs (step_id, queue, run_at)
        SELECT j.step_id, j.queue, p_now FROM unnest(v_rest, v_rest_queues) AS j(step_id, queue);
        -- Wake workers: once per queue (these are all due now).
        PERFORM flowsync._wake_workers(q.queue, p_now)
        FROM (SELECT DISTINCT unnest(v_rest_queues) AS queue) q;
    END IF;

    IF cardinality(v_handoff) > 0 THEN
        RETURN QUERY SELECT * FROM flowsync._lease_steps(v_handoff, p_worker, p_lease_ms, p_now);
    END IF;
END;
$$;
