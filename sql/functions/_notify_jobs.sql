-- Wake workers for the given steps' new jobs: once per queue, for its earliest run_at.
CREATE OR REPLACE FUNCTION flowsync._notify_jobs(p_step_ids bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_row record;
BEGIN
    IF coalesce(cardinality(p_step_ids), 0) = 0 THEN
        RETURN;
    END IF;
    FOR v_row IN
        SELECT j.queue, min(j.run_at) AS run_at FROM flowsync.jobs j
        WHERE j.step_id = ANY (p_step_ids) GROUP BY j.queue
    LOOP
        PERFORM flowsync._wake_workers(v_row.queue, v_row.run_at);
    END LOOP;
END;
$$;
