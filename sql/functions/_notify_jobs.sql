-- Wake workers for new jobs: one notification per queue, carrying the earliest run_at
-- (epoch milliseconds) so a sleeping worker can shorten its sleep. Only a wake-up: workers
-- also poll, and never rely on a notification arriving.
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
        PERFORM pg_notify('flowsync_jobs',
                          v_row.queue || ' ' || floor(extract(epoch FROM v_row.run_at) * 1000)::bigint);
    END LOOP;
END;
$$;
