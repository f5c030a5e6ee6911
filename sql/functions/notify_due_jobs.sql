-- Wake workers for jobs that fell due in (p_after, p_until]: one notification per queue, in
-- via _wake_workers ("<queue> <epoch ms>"). Jobs are announced when they are
-- created; this covers the moment a delayed one (a retry, a snooze) becomes due, for workers
-- that did not hear of it. Only a wake-up: workers poll as well. The scheduler leader calls it
-- every tick with the previous call's checked_until as p_after (NULL: the last 5 seconds).
-- Walks the distinct queues through jobs_claim_idx (queue, run_at), so it stays cheap however
-- many jobs wait.
CREATE OR REPLACE FUNCTION flowsync.notify_due_jobs(
    p_after  timestamptz,
    p_until  timestamptz DEFAULT now(),
    OUT notified       integer,
    OUT checked_until  timestamptz
)
LANGUAGE plpgsql AS $$
DECLARE
    v_after timestamptz := coalesce(p_after, p_until - interval '5 seconds');
    v_row   record;
BEGIN
    notified := 0;
    checked_until := p_until;
    FOR v_row IN
        WITH RECURSIVE queues AS (
            (SELECT j.queue FROM flowsync.jobs j ORDER BY j.queue LIMIT 1)
            UNION ALL
            SELECT (SELECT j.queue FROM flowsync.jobs j WHERE j.queue > q.queue
                    ORDER BY j.queue LIMIT 1)
            FROM queues q WHERE q.queue IS NOT NULL
        )
        SELECT q.queue, d.run_at FROM queues q
        CROSS JOIN LATERAL (
            SELECT j.run_at FROM flowsync.jobs j
            WHERE j.queue = q.queue AND j.run_at > v_after AND j.run_at <= p_until
            ORDER BY j.run_at LIMIT 1
        ) d
        WHERE q.queue IS NOT NULL
    LOOP
        PERFORM flowsync._wake_workers(v_row.queue, v_row.run_at);
        notified := notified + 1;
    END LOOP;
END;
$$;
