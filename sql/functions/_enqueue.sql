-- Steps that just became ready (status queued, due now) go to the job table, and the workers
-- of their queues get a wake-up (once per queue).
CREATE OR REPLACE FUNCTION flowsync._enqueue(p_ready flowsync.ready_steps, p_now timestamptz)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(cardinality(p_ready.ids), 0) = 0 THEN
        RETURN;
    END IF;
    INSERT INTO flowsync.jobs (step_id, queue, run_at)
    SELECT j.step_id, j.queue, p_now FROM unnest(p_ready.ids, p_ready.queues) AS j(step_id, queue);
    PERFORM flowsync._wake_workers(q.queue, p_now)
    FROM (SELECT DISTINCT unnest(p_ready.queues) AS queue) q;
END;
$$;
