-- Claim up to p_limit ready jobs from p_queues for p_worker: the jobs are deleted (SKIP
-- LOCKED, so concurrent claimers never get the same one), executions not yet running are
-- started, and the steps leased.
CREATE OR REPLACE FUNCTION flowsync.claim_steps(
    p_worker    text,
    p_queues    text[],
    p_limit     integer,
    p_lease_ms  integer,
    p_now       timestamptz DEFAULT now()
) RETURNS SETOF flowsync.step_claim
LANGUAGE plpgsql AS $$
DECLARE
    v_ids bigint[];
BEGIN
    -- Per queue, an ordered scan of jobs_claim_idx that stops after p_limit rows (an
    -- `= ANY` over all queues would read and sort the whole backlog instead).
    WITH candidates AS (
        SELECT c.step_id, c.run_at
        FROM unnest(p_queues) AS q(queue)
        CROSS JOIN LATERAL (
            SELECT j.step_id, j.run_at FROM flowsync.jobs j
            WHERE j.queue = q.queue AND j.run_at <= p_now
            ORDER BY j.run_at, j.step_id
            LIMIT p_limit
            FOR UPDATE SKIP LOCKED
        ) c
        ORDER BY c.run_at, c.step_id
        LIMIT p_limit
    ), picked AS (
        DELETE FROM flowsync.jobs j USING candidates c
        WHERE j.step_id = c.step_id
        RETURNING j.step_id
    )
    SELECT array_agg(step_id ORDER BY step_id) INTO v_ids FROM picked;

    IF v_ids IS NULL THEN
        RETURN;
    END IF;

    -- An execution starts running with its first step. Start the queued ones among these
    -- before leasing any step: executions are locked before steps (in id order), as by
    -- cancel_execution and every function that locks both, so none can deadlock another.
    -- (The sorted ids drive one key lookup each, so the rows are locked in id order.)
    UPDATE flowsync.executions e SET status = 'running', started_at = p_now
    FROM (
        SELECT DISTINCT s.execution_id AS id FROM unnest(v_ids) AS q(id)
        CROSS JOIN LATERAL (
            SELECT s.execution_id FROM flowsync.steps s WHERE s.id = q.id OFFSET 0) s
        ORDER BY 1 OFFSET 0
    ) l
    WHERE e.id = l.id AND e.status = 'queued';

    -- queued -> running under a new lease for p_worker (a new token, and a row in leases).
    WITH leased AS (
        UPDATE flowsync.steps s
        SET status = 'running', attempt = s.attempt + 1, lease_token = gen_random_uuid(),
            worker_id = p_worker, started_at = p_now
        WHERE s.id = ANY (v_ids) AND s.status = 'queued'
        RETURNING s.id
    ), held AS (
        INSERT INTO flowsync.leases (step_id, worker_id, expires_at)
        SELECT l.id, p_worker, p_now + make_interval(secs => p_lease_ms / 1000.0) FROM leased l
    )
    SELECT array_agg(l.id ORDER BY l.id) INTO v_ids FROM leased l;

    RETURN QUERY SELECT * FROM flowsync._step_claims(v_ids);
END;
$$;
