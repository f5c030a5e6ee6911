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
    v_lease      flowsync.leases;
    v_error      jsonb;
    v_jobs       bigint[] := '{}';
    v_ended      bigint[] := '{}';
BEGIN
    SELECT array_agg(l.step_id) INTO v_candidates FROM (
        SELECT l.step_id FROM flowsync.leases l
        WHERE l.expires_at < p_now
        ORDER BY l.expires_at LIMIT p_limit
    ) l;
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
          AND s.status = 'running'
        ORDER BY s.id
        FOR UPDATE SKIP LOCKED
    LOOP
        -- Under the step's lock (a heartbeat extends a lease only under it): a lease extended
        -- since the candidates were read is no longer expired, and stays.
        DELETE FROM flowsync.leases l WHERE l.step_id = v_step.id AND l.expires_at < p_now
        RETURNING * INTO v_lease;
        CONTINUE WHEN NOT FOUND;

        v_error := jsonb_build_object(
            'type', 'LeaseExpired',
            'message', format('worker %s stopped reporting; its lease expired at %s',
                              v_lease.worker_id, v_lease.expires_at),
            'worker_id', v_lease.worker_id);
        -- The lost attempt counts against the budget; the old token is revoked.
        IF flowsync._fail_attempt(v_step, v_error, true, NULL, 'lease_expired', true, p_now) THEN
            v_jobs := v_jobs || v_step.id;
        ELSE
            v_ended := v_ended || v_step.id;
        END IF;
    END LOOP;

    PERFORM flowsync._notify_jobs(v_jobs);
    PERFORM flowsync._settle(v_ended, p_now);
    RETURN cardinality(v_jobs) + cardinality(v_ended);
END;
$$;
