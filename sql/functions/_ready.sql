-- Steps made ready (status queued) by something other than _settle, with their queues, for
-- _enqueue.
CREATE OR REPLACE FUNCTION flowsync._ready(p_step_ids bigint[])
RETURNS flowsync.ready_steps
LANGUAGE sql STABLE AS $$
    SELECT ROW(coalesce(array_agg(s.id ORDER BY s.id), '{}'),
               coalesce(array_agg((flowsync._step_node(s)).queue ORDER BY s.id), '{}')
           )::flowsync.ready_steps
    FROM unnest(p_step_ids) AS q(id)
    CROSS JOIN LATERAL (  -- (a key lookup, whatever the statistics say)
        SELECT * FROM flowsync.steps s WHERE s.id = q.id OFFSET 0) s
$$;
