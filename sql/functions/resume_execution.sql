-- failed -> running: re-queue what failed (all failed/dead steps, or only p_step_ids) and
-- everything that never ran because of it; steps that succeeded keep their outputs and are
-- not run again. The state of the reset steps is recomputed from the steps that stay as they
-- are, exactly as if those had just finished. Returns 'resumed', 'not_found',
-- 'nothing_to_resume' (no such failed step), or the status of an execution that is not failed.
CREATE OR REPLACE FUNCTION flowsync.resume_execution(
    p_execution_id  uuid,
    p_step_ids      bigint[] DEFAULT NULL,
    p_actor         text DEFAULT NULL,
    p_now           timestamptz DEFAULT now()
) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_exec      flowsync.executions;
    v_retried   bigint[];
    v_reset     bigint[];
    v_run       bigint[];
    v_skip      bigint[];
    v_failures  integer;
BEGIN
    SELECT * INTO v_exec FROM flowsync.executions e WHERE e.id = p_execution_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 'not_found';
    ELSIF v_exec.status <> 'failed' THEN
        RETURN v_exec.status::text;
    END IF;

    SELECT array_agg(s.id) INTO v_retried FROM flowsync.steps s
    WHERE s.execution_id = p_execution_id AND s.status IN ('failed', 'dead')
      AND (p_step_ids IS NULL OR s.id = ANY (p_step_ids));
    IF v_retried IS NULL THEN
        RETURN 'nothing_to_resume';
    END IF;

    SELECT array_agg(s.id) INTO v_reset FROM flowsync.steps s
    WHERE s.execution_id = p_execution_id
      AND (s.id = ANY (v_retried) OR s.status IN ('pending', 'skipped', 'cancelled'));

    UPDATE flowsync.steps s
    SET status = 'pending', attempt = 0, deps_succeeded = 0, deps_failed = 0, deps_skipped = 0,
        outcome = NULL, output = NULL, error = NULL, state = NULL, run_at = NULL,
        queued_at = NULL, started_at = NULL, finished_at = NULL, dead_lettered_at = NULL
    WHERE s.id = ANY (v_reset);

    -- Count again what the steps that keep their state contribute to each reset step.
    UPDATE flowsync.steps d
    SET deps_succeeded = p.ok, deps_failed = p.failed, deps_skipped = p.skipped
    FROM flowsync._edge_counts(ARRAY(
             SELECT s.id FROM flowsync.steps s
             WHERE s.execution_id = p_execution_id AND s.id <> ALL (v_reset))) p
    WHERE d.execution_id = p_execution_id AND d.node_idx = p.to_idx AND d.id = ANY (v_reset);

    WITH decided AS (
        SELECT s.id, flowsync._join_decision(n.join_rule, n.upstream_count, s.deps_succeeded,
                                             s.deps_failed, s.deps_skipped) AS decision
        FROM flowsync.steps s
        JOIN flowsync.workflow_nodes n
          ON n.workflow_id = v_exec.workflow_id AND n.version = v_exec.version
         AND n.node_idx = s.node_idx
        WHERE s.id = ANY (v_reset)
    )
    SELECT coalesce(array_agg(id) FILTER (WHERE decision = 'run'), '{}'),
           coalesce(array_agg(id) FILTER (WHERE decision = 'skip'), '{}')
    INTO v_run, v_skip FROM decided;

    SELECT count(*) INTO v_failures
    FROM flowsync.steps s
    JOIN flowsync.workflow_nodes n
      ON n.workflow_id = v_exec.workflow_id AND n.version = v_exec.version AND n.node_idx = s.node_idx
    WHERE s.execution_id = p_execution_id AND s.status IN ('failed', 'dead')
      AND NOT n.continue_on_failure;

    UPDATE flowsync.executions e
    SET status = 'running', finished_at = NULL, output = NULL, error = NULL,
        steps_open = cardinality(v_reset), steps_failed = v_failures
    WHERE e.id = p_execution_id;

    UPDATE flowsync.steps s SET status = 'queued', queued_at = p_now, run_at = p_now
    WHERE s.id = ANY (v_run);
    IF cardinality(v_skip) > 0 THEN
        UPDATE flowsync.steps s SET status = 'skipped', finished_at = p_now WHERE s.id = ANY (v_skip);
    END IF;

    INSERT INTO flowsync.execution_events (execution_id, at, kind, detail)
    VALUES (p_execution_id, p_now, CASE WHEN p_step_ids IS NULL THEN 'resumed' ELSE 'replayed' END,
            jsonb_strip_nulls(jsonb_build_object(
                'steps', (SELECT jsonb_agg(s.node_id ORDER BY s.id) FROM flowsync.steps s
                          WHERE s.id = ANY (v_retried)),
                'actor', p_actor)));

    PERFORM flowsync._enqueue(flowsync._ready(v_run), p_now);
    -- Skips settle like any other terminal step (and may finish the execution at once).
    PERFORM flowsync._settle(v_skip, p_now);
    RETURN 'resumed';
END;
$$;
