-- Steps whose lease expired (their worker died or hung) go back to the queue, after the
-- step's retry delay; the lost attempt counts, so a step that keeps killing its workers ends
-- dead instead of looping. Reports carrying the old lease token are rejected from then on.
-- Safe to run from many processes at once. Returns how many steps it rescued.
CREATE OR REPLACE FUNCTION flowsync.rescue_expired_leases(
    p_limit  integer DEFAULT 1000,
    p_now    timestamptz DEFAULT now()
) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_candidates bigint[];
    v_locked     uuid[];
    v_step       flowsync.steps;
    v_error      jsonb;
    v_jobs       bigint[] := '{}';
    v_ended      bigint[] := '{}';
    v_count      integer := 0;
BEGIN
    SELECT array_agg(s.id) INTO v_candidates FROM (
        SELECT s.id FROM flowsync.steps s
        WHERE s.status = 'running' AND s.lease_expires_at < p_now
        ORDER BY s.lease_expires_at LIMIT p_limit
    ) s;
    IF v_candidates IS NULL THEN
        RETURN 0;
    END IF;

    -- Executions first, in id order, as everywhere; skip those another process is settling.
    SELECT array_agg(x.id) INTO v_locked FROM (
        SELECT e.id FROM flowsync.executions e
        WHERE e.id IN (SELECT s.execution_id FROM flowsync.steps s WHERE s.id = ANY (v_candidates))
        ORDER BY e.id
        FOR UPDATE SKIP LOCKED
    ) x;

    FOR v_step IN
        SELECT s.* FROM flowsync.steps s
        WHERE s.id = ANY (v_candidates) AND s.execution_id = ANY (v_locked)
          AND s.status = 'running' AND s.lease_expires_at < p_now
        ORDER BY s.id
        FOR UPDATE SKIP LOCKED
    LOOP
        v_error := jsonb_build_object(
            'type', 'LeaseExpired',
            'message', format('worker %s stopped reporting; its lease expired at %s',
                              v_step.worker_id, v_step.lease_expires_at),
            'worker_id', v_step.worker_id);
        v_count := v_count + 1;
        -- The lost attempt counts against the budget; the old token is revoked.
        IF flowsync._fail_attempt(v_step, v_error, true, NULL, 'lease_expired', true, p_now) THEN
            v_jobs := v_jobs || v_step.id;
        ELSE
            v_ended := v_ended || v_step.id;
        END IF;
    END LOOP;

    PERFORM flowsync._notify_jobs(v_jobs);
    PERFORM flowsync._dispatch(flowsync._settle(v_ended, p_now), NULL, '{}', 0, 0, p_now);
    RETURN v_count;
END;
$$;
