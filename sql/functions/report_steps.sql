-- A worker's batch of step reports, in one transaction. Each report is an object
--   {"step_id", "token", "kind": "succeeded" | "failed" | "snoozed", ...}
--   succeeded: "output", "outcome" (condition nodes)
--   failed:    "error" (object), "retryable" (bool), "retry_after_ms"
--   snoozed:   "until" (timestamptz), "state" (object)     -- durable timer, attempt not used
--   any:       "logs": [{"at", "level", "message", "fields"}]
-- A report counts only while the step is running under the report's lease token: otherwise
-- it is 'duplicate' (this report already landed: the token is still the step's last one) or
-- 'stale' (the attempt was revoked: cancelled, rescued, handed back, or a newer attempt runs),
-- and changes nothing. Rows come back as (result, step_id) per report, then one 'claimed' row
-- per step handed straight to the reporting worker (at most p_limit, from p_queues).
CREATE OR REPLACE FUNCTION flowsync.report_steps(
    p_worker    text,
    p_reports   jsonb,
    p_queues    text[] DEFAULT '{}',
    p_limit     integer DEFAULT 0,
    p_lease_ms  integer DEFAULT 30000,
    p_now       timestamptz DEFAULT now()
) RETURNS SETOF flowsync.step_claim
LANGUAGE plpgsql AS $$
DECLARE
    r           record;
    v_step      flowsync.steps;
    v_node      flowsync.workflow_nodes;
    v_result    text;
    v_ended_ids bigint[] := '{}';
    v_ended_exs uuid[] := '{}';
    v_jobs      bigint[] := '{}';
    v_ready     bigint[] := '{}';
    v_group     record;
    v_run_at    timestamptz;
BEGIN
    -- Lock the executions concerned, in id order (the order every multi-execution locker uses).
    PERFORM 1 FROM flowsync.executions e
    WHERE e.id IN (SELECT s.execution_id FROM flowsync.steps s
                   WHERE s.id IN (SELECT (x->>'step_id')::bigint
                                  FROM jsonb_array_elements(p_reports) x))
    ORDER BY e.id
    FOR UPDATE;

    FOR r IN
        SELECT * FROM jsonb_to_recordset(p_reports) AS x(
            step_id bigint, token uuid, kind text, output jsonb, outcome jsonb, error jsonb,
            retryable boolean, retry_after_ms bigint, until timestamptz, state jsonb, logs jsonb)
        ORDER BY x.step_id
    LOOP
        SELECT * INTO v_step FROM flowsync.steps s WHERE s.id = r.step_id FOR UPDATE;
        IF NOT FOUND THEN
            v_result := 'unknown';
        ELSIF v_step.status <> 'running' OR v_step.lease_token IS DISTINCT FROM r.token THEN
            v_result := CASE WHEN v_step.lease_token = r.token THEN 'duplicate' ELSE 'stale' END;
        ELSE
            v_result := 'ok';
            SELECT n.* INTO v_node FROM flowsync.workflow_nodes n
            JOIN flowsync.executions e ON n.workflow_id = e.workflow_id AND n.version = e.version
            WHERE e.id = v_step.execution_id AND n.node_idx = v_step.node_idx;

            IF r.logs IS NOT NULL AND jsonb_array_length(r.logs) > 0 THEN
                INSERT INTO flowsync.step_logs (execution_id, step_id, attempt, at, level, message, fields)
                SELECT v_step.execution_id, v_step.id, v_step.attempt, coalesce(l.at, p_now),
                       coalesce(l.level, 'info'), coalesce(l.message, ''), coalesce(l.fields, '{}')
                FROM jsonb_to_recordset(r.logs)
                     AS l(at timestamptz, level text, message text, fields jsonb);
            END IF;

            IF r.kind = 'succeeded' THEN
                UPDATE flowsync.steps s
                SET status = 'succeeded', output = r.output, outcome = r.outcome, error = NULL,
                    lease_expires_at = NULL, finished_at = p_now
                WHERE s.id = v_step.id;
                v_ended_ids := v_ended_ids || v_step.id;
                v_ended_exs := v_ended_exs || v_step.execution_id;

            ELSIF r.kind = 'snoozed' THEN
                v_run_at := coalesce(r.until, p_now);
                UPDATE flowsync.steps s
                SET status = 'queued', state = r.state, attempt = s.attempt - 1,
                    lease_expires_at = NULL, run_at = v_run_at, queued_at = p_now
                WHERE s.id = v_step.id;
                INSERT INTO flowsync.jobs (step_id, queue, run_at) VALUES (v_step.id, v_node.queue, v_run_at);
                INSERT INTO flowsync.step_attempts
                    (step_id, execution_id, attempt, outcome, error, worker_id, started_at, ended_at)
                VALUES (v_step.id, v_step.execution_id, v_step.attempt, 'snoozed',
                        jsonb_build_object('until', v_run_at), p_worker, v_step.started_at, p_now);
                v_jobs := v_jobs || v_step.id;

            ELSIF r.kind = 'failed' AND coalesce(r.retryable, true)
                  AND v_step.attempt < v_node.max_attempts THEN
                v_run_at := p_now + flowsync._retry_delay(
                    v_node.backoff, v_node.backoff_initial_ms, v_node.backoff_max_ms,
                    v_node.jitter, v_step.attempt, r.retry_after_ms);
                UPDATE flowsync.steps s
                SET status = 'queued', error = r.error, lease_expires_at = NULL,
                    run_at = v_run_at, queued_at = p_now
                WHERE s.id = v_step.id;
                INSERT INTO flowsync.jobs (step_id, queue, run_at) VALUES (v_step.id, v_node.queue, v_run_at);
                INSERT INTO flowsync.step_attempts
                    (step_id, execution_id, attempt, outcome, error, worker_id, started_at, ended_at)
                VALUES (v_step.id, v_step.execution_id, v_step.attempt, 'retry', r.error, p_worker,
                        v_step.started_at, p_now);
                v_jobs := v_jobs || v_step.id;

            ELSIF r.kind = 'failed' THEN
                -- Not retryable: failed. Retryable but out of attempts: dead.
                UPDATE flowsync.steps s
                SET status = CASE WHEN coalesce(r.retryable, true) THEN 'dead'
                                  ELSE 'failed' END::flowsync.step_status,
                    error = r.error, lease_expires_at = NULL, finished_at = p_now
                WHERE s.id = v_step.id;
                INSERT INTO flowsync.step_attempts
                    (step_id, execution_id, attempt, outcome, error, worker_id, started_at, ended_at)
                VALUES (v_step.id, v_step.execution_id, v_step.attempt,
                        CASE WHEN coalesce(r.retryable, true) THEN 'dead' ELSE 'failed' END,
                        r.error, p_worker, v_step.started_at, p_now);
                v_ended_ids := v_ended_ids || v_step.id;
                v_ended_exs := v_ended_exs || v_step.execution_id;
            ELSE
                RAISE EXCEPTION 'report for step %: unknown kind "%"', r.step_id, r.kind
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
        END IF;
        RETURN QUERY SELECT v_result, r.step_id, NULL::uuid, NULL::text, NULL::integer, NULL::text,
            NULL::text, NULL::jsonb, NULL::integer, NULL::integer, NULL::uuid, NULL::integer,
            NULL::jsonb, NULL::jsonb, NULL::jsonb;
    END LOOP;

    PERFORM flowsync._notify_jobs(v_jobs);

    FOR v_group IN
        SELECT x.execution_id, array_agg(x.step_id) AS step_ids
        FROM unnest(v_ended_exs, v_ended_ids) AS x(execution_id, step_id)
        GROUP BY x.execution_id ORDER BY x.execution_id
    LOOP
        v_ready := v_ready || flowsync._settle(v_group.execution_id, v_group.step_ids, p_now);
    END LOOP;

    RETURN QUERY SELECT * FROM flowsync._dispatch(v_ready, p_worker, p_queues, p_limit, p_lease_ms, p_now);
END;
$$;

-- Single-step forms of report_steps, for callers that report one step at a time.
CREATE OR REPLACE FUNCTION flowsync.complete_step(
    p_step_id bigint, p_token uuid, p_output jsonb DEFAULT NULL, p_outcome jsonb DEFAULT NULL,
    p_now timestamptz DEFAULT now()
) RETURNS text
LANGUAGE sql AS $$
    SELECT c.result FROM flowsync.report_steps(
        NULL, jsonb_build_array(jsonb_build_object(
            'step_id', p_step_id, 'token', p_token, 'kind', 'succeeded',
            'output', p_output, 'outcome', p_outcome)),
        '{}', 0, 0, p_now) c
    WHERE c.result <> 'claimed'
$$;

CREATE OR REPLACE FUNCTION flowsync.fail_step(
    p_step_id bigint, p_token uuid, p_error jsonb, p_retryable boolean DEFAULT true,
    p_retry_after_ms bigint DEFAULT NULL, p_now timestamptz DEFAULT now()
) RETURNS text
LANGUAGE sql AS $$
    SELECT c.result FROM flowsync.report_steps(
        NULL, jsonb_build_array(jsonb_build_object(
            'step_id', p_step_id, 'token', p_token, 'kind', 'failed', 'error', p_error,
            'retryable', p_retryable, 'retry_after_ms', p_retry_after_ms)),
        '{}', 0, 0, p_now) c
    WHERE c.result <> 'claimed'
$$;
