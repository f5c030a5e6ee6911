-- running -> queued for steps a stopping worker hands back unfinished, or steps leased to it
-- that it does not know about (a hand-off whose answer it never received). The attempt is
-- given back: the step did not run to any end.
CREATE OR REPLACE FUNCTION flowsync.release_steps(
    p_worker    text,
    p_step_ids  bigint[],
    p_tokens    uuid[],
    p_now       timestamptz DEFAULT now()
) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_released bigint[];
BEGIN
    SELECT coalesce(array_agg(s.id), '{}') INTO v_released FROM (
        SELECT s.id FROM flowsync.steps s
        JOIN unnest(p_step_ids, p_tokens) AS t(step_id, token)
          ON s.id = t.step_id AND s.lease_token = t.token
        WHERE s.status = 'running' AND s.worker_id = p_worker
        ORDER BY s.id
        FOR UPDATE OF s
    ) s;

    PERFORM flowsync._record_attempts(v_released, 'handed_back', NULL, p_now);
    UPDATE flowsync.steps s
    SET status = 'queued', attempt = s.attempt - 1, lease_token = NULL, run_at = p_now,
        queued_at = p_now
    WHERE s.id = ANY (v_released);
    DELETE FROM flowsync.leases l WHERE l.step_id = ANY (v_released);

    -- Back to the job table (and a wake-up), due now.
    PERFORM flowsync._enqueue(flowsync._ready(v_released), p_now);
    RETURN cardinality(v_released);
END;
$$;

-- Steps leased to p_worker other than the ones it names: handed back (see above).
CREATE OR REPLACE FUNCTION flowsync.release_unknown_steps(
    p_worker     text,
    p_known_ids  bigint[],
    p_now        timestamptz DEFAULT now()
) RETURNS integer
LANGUAGE sql AS $$
    SELECT flowsync.release_steps(
        p_worker,
        coalesce(array_agg(s.id), '{}'),
        coalesce(array_agg(s.lease_token), '{}'),
        p_now)
    FROM flowsync.leases l JOIN flowsync.steps s ON s.id = l.step_id
    WHERE l.worker_id = p_worker AND l.step_id <> ALL (p_known_ids)
$$;
