-- One step_attempts row per given step for the attempt it is ending now (with p_outcome),
-- from the step as it is before the caller changes it: its attempt number, worker, and when
-- it was queued and started. The one writer of step_attempts.
CREATE OR REPLACE FUNCTION flowsync._record_attempts(
    p_step_ids  bigint[],
    p_outcome   text,
    p_error     jsonb,
    p_now       timestamptz
) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO flowsync.step_attempts
        (step_id, execution_id, attempt, outcome, error, worker_id, queued_at, started_at, ended_at)
    SELECT s.id, s.execution_id, s.attempt, p_outcome, p_error, s.worker_id, s.queued_at,
           s.started_at, p_now
    FROM flowsync.steps s WHERE s.id = ANY (p_step_ids)
$$;
