-- End a running step's attempt that failed: back to the queue after the step's retry delay
-- when the failure is retryable and attempts are left (the job is created here), else the
-- step ends `dead` (retryable, budget spent) or `failed` (not retryable). The attempt is
-- recorded in step_attempts either way. p_revoke clears the lease token (the attempt was
-- taken from its worker, as on lease expiry) so a late report from it reads as stale.
-- Returns true when the step went back to the queue, false when it ended (settle it).
-- The one place that decides retry versus dead: report_steps and rescue_expired_leases use it.
CREATE OR REPLACE FUNCTION flowsync._fail_attempt(
    p_step            flowsync.steps,
    p_error           jsonb,
    p_retryable       boolean,
    p_retry_after_ms  bigint,
    p_retry_outcome   text,
    p_revoke          boolean,
    p_now             timestamptz
) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    v_node   flowsync.workflow_nodes;
    v_retry  boolean;
    v_run_at timestamptz;
BEGIN
    v_node := flowsync._step_node(p_step);
    v_retry := p_retryable AND p_step.attempt < v_node.max_attempts;
    PERFORM flowsync._record_attempts(
        ARRAY[p_step.id],
        CASE WHEN v_retry THEN p_retry_outcome WHEN p_retryable THEN 'dead' ELSE 'failed' END,
        p_error, p_now);

    IF v_retry THEN
        v_run_at := p_now + flowsync._retry_delay(
            v_node.backoff, v_node.backoff_initial_ms, v_node.backoff_max_ms,
            v_node.jitter, p_step.attempt, p_retry_after_ms);
        UPDATE flowsync.steps s
        SET status = 'queued', error = p_error,
            lease_token = CASE WHEN p_revoke THEN NULL ELSE s.lease_token END,
            run_at = v_run_at, queued_at = p_now
        WHERE s.id = p_step.id;
        INSERT INTO flowsync.jobs (step_id, queue, run_at) VALUES (p_step.id, v_node.queue, v_run_at);
    ELSE
        UPDATE flowsync.steps s
        SET status = CASE WHEN p_retryable THEN 'dead' ELSE 'failed' END::flowsync.step_status,
            error = p_error,
            lease_token = CASE WHEN p_revoke THEN NULL ELSE s.lease_token END,
            finished_at = p_now, dead_lettered_at = p_now
        WHERE s.id = p_step.id;
    END IF;
    RETURN v_retry;
END;
$$;
