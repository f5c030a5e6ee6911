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
    WITH mine AS (
        SELECT s.id, s.queued_at FROM flowsync.steps s
        JOIN unnest(p_step_ids, p_tokens) AS t(step_id, token)
          ON s.id = t.step_id AND s.lease_token = t.token
        WHERE s.status = 'running'
        ORDER BY s.id
        FOR UPDATE OF s
    ), released AS (
        UPDATE flowsync.steps s
        SET status = 'queued', attempt = s.attempt - 1, lease_token = NULL, lease_expires_at = NULL,
            run_at = p_now, queued_at = p_now
        FROM mine WHERE s.id = mine.id
        RETURNING s.id, s.execution_id, s.attempt, s.started_at, mine.queued_at
    ), logged AS (
        INSERT INTO flowsync.step_attempts
            (step_id, execution_id, attempt, outcome, worker_id, queued_at, started_at, ended_at)
        SELECT r.id, r.execution_id, r.attempt + 1, 'handed_back', p_worker, r.queued_at,
               r.started_at, p_now
        FROM released r
    )
    SELECT coalesce(array_agg(id), '{}') INTO v_released FROM released;

    INSERT INTO flowsync.jobs (step_id, queue, run_at)
    SELECT s.id, n.queue, p_now
    FROM flowsync.steps s
    JOIN flowsync.executions e ON e.id = s.execution_id
    JOIN flowsync.workflow_nodes n
      ON n.workflow_id = e.workflow_id AND n.version = e.version AND n.node_idx = s.node_idx
    WHERE s.id = ANY (v_released);
    PERFORM flowsync._notify_jobs(v_released);
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
    FROM flowsync.steps s
    WHERE s.status = 'running' AND s.worker_id = p_worker AND s.id <> ALL (p_known_ids)
$$;
