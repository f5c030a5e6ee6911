-- When the next job of these queues falls due (NULL: none waiting). Workers sleep until then.
CREATE OR REPLACE FUNCTION flowsync.next_run_at(p_queues text[]) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT min(x.run_at) FROM unnest(p_queues) AS q(queue)
    CROSS JOIN LATERAL (
        SELECT j.run_at FROM flowsync.jobs j WHERE j.queue = q.queue ORDER BY j.run_at LIMIT 1
    ) x
$$;
