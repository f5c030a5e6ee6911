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
-- per step leased to the reporting worker: first the steps these reports made ready, then
-- (p_top_up) due jobs from p_queues, p_limit in all — a worker's whole cycle in one round
-- trip. A worker that knows no job is due (none was left when it last looked, and no
-- wake-up came since) passes p_top_up false and saves the look.
CREATE OR REPLACE FUNCTION flowsync.report_steps(
    p_worker    text,
    p_reports   jsonb,
    p_queues    text[] DEFAULT '{}',
    p_limit     integer DEFAULT 0,
    p_lease_ms  integer DEFAULT 30000,
    p_now       timestamptz DEFAULT now(),
    p_top_up    boolean DEFAULT true
) RETURNS SETOF flowsync.step_claim
LANGUAGE plpgsql AS $$
DECLARE
    v_ids       bigint[];
    v_valid     bigint[];
    v_results   text[];
    v_succeeded bigint[];
    v_ended     bigint[] := '{}';
    v_jobs      bigint[] := '{}';
    v_report    record;
    v_step      flowsync.steps;
    v_run_at    timestamptz;
    v_handed    integer;
BEGIN
    IF coalesce(jsonb_array_length(p_reports), 0) = 0 THEN
        RETURN;
    END IF;

    -- Lock the executions concerned, in id order (the order every multi-execution locker
    -- uses). (Each row by its key, in that order, whatever the statistics say: a LATERAL
    -- subquery is one index lookup per outer row, and the planner cannot reorder it.)
    PERFORM 1
    FROM (SELECT DISTINCT s.execution_id
          FROM jsonb_to_recordset(p_reports) AS r(step_id bigint)
          CROSS JOIN LATERAL (
              SELECT s.execution_id FROM flowsync.steps s WHERE s.id = r.step_id OFFSET 0) s
          ORDER BY s.execution_id) x
    CROSS JOIN LATERAL (
        SELECT 1 FROM flowsync.executions e WHERE e.id = x.execution_id FOR UPDATE) e;

    -- The common case first, set-based: successes that count (the step running under the
    -- report's token) end their attempt, and with it the lease. Steps are locked in id order
    -- (the sorted reports drive one key lookup each).
    WITH done AS (
        UPDATE flowsync.steps s
        SET status = 'succeeded', output = x.output, outcome = x.outcome, error = NULL,
            finished_at = p_now
        FROM (SELECT * FROM jsonb_to_recordset(p_reports)
                  AS x(step_id bigint, token uuid, kind text, output jsonb, outcome jsonb)
              WHERE x.kind = 'succeeded' ORDER BY x.step_id OFFSET 0) x
        WHERE s.id = x.step_id AND s.status = 'running' AND s.lease_token = x.token
        RETURNING s.id
    ), ended AS (
        DELETE FROM flowsync.leases l WHERE l.step_id IN (SELECT d.id FROM done d)
    )
    SELECT coalesce(array_agg(d.id ORDER BY d.id), '{}') INTO v_succeeded FROM done d;

    IF cardinality(v_succeeded) = jsonb_array_length(p_reports) THEN
        v_ids := v_succeeded;  -- (every report counted: nothing else to look at)
        v_valid := v_succeeded;
        v_results := array_fill('ok'::text, ARRAY[cardinality(v_succeeded)]);
    ELSE
        -- Classify the other reports, locking their steps in id order: 'ok' ones go on.
        WITH reports AS (
            SELECT * FROM jsonb_to_recordset(p_reports) AS x(step_id bigint, token uuid)
        ), current AS (
            SELECT s.id, s.status, s.lease_token
            FROM (SELECT DISTINCT r.step_id FROM reports r
                  WHERE r.step_id <> ALL (v_succeeded) ORDER BY r.step_id) r
            CROSS JOIN LATERAL (
                SELECT s.id, s.status, s.lease_token FROM flowsync.steps s
                WHERE s.id = r.step_id FOR UPDATE) s
        ), classified AS (
            SELECT r.step_id,
                   CASE WHEN r.step_id = ANY (v_succeeded) THEN 'ok'
                        WHEN c.id IS NULL THEN 'unknown'
                        WHEN c.status = 'running' AND c.lease_token = r.token THEN 'ok'
                        WHEN c.lease_token = r.token THEN 'duplicate'
                        ELSE 'stale' END AS result
            FROM reports r LEFT JOIN current c ON c.id = r.step_id
        )
        SELECT array_agg(step_id ORDER BY step_id), array_agg(result ORDER BY step_id),
               array_agg(step_id) FILTER (WHERE result = 'ok')
        INTO v_ids, v_results, v_valid
        FROM classified;
    END IF;

    RETURN QUERY
    SELECT x.result, x.step_id, NULL::uuid, NULL::text, NULL::integer, NULL::text, NULL::text,
           NULL::jsonb, NULL::integer, NULL::integer, NULL::uuid, NULL::integer, NULL::jsonb,
           NULL::jsonb, NULL::jsonb
    FROM unnest(v_results, v_ids) AS x(result, step_id);

    IF v_valid IS NULL THEN
        IF p_top_up AND p_worker IS NOT NULL AND p_limit > 0 THEN
            RETURN QUERY SELECT * FROM flowsync.claim_steps(
                p_worker, p_queues, p_limit, p_lease_ms, p_now);
        END IF;
        RETURN;
    END IF;

    IF p_reports @? '$[*].logs[0]' THEN
        INSERT INTO flowsync.step_logs (execution_id, step_id, attempt, at, level, message, fields)
        SELECT s.execution_id, s.id, s.attempt, coalesce(l.at, p_now), coalesce(l.level, 'info'),
               coalesce(l.message, ''), coalesce(l.fields, '{}')
        FROM jsonb_to_recordset(p_reports) AS x(step_id bigint, logs jsonb)
        CROSS JOIN LATERAL (  -- (a key lookup, whatever the statistics say)
            SELECT s.execution_id, s.id, s.attempt FROM flowsync.steps s
            WHERE s.id = x.step_id OFFSET 0) s
        CROSS JOIN LATERAL jsonb_to_recordset(x.logs)
             AS l(at timestamptz, level text, message text, fields jsonb)
        WHERE x.logs IS NOT NULL AND jsonb_array_length(x.logs) > 0 AND x.step_id = ANY (v_valid);
    END IF;
    v_ended := v_succeeded;

    -- Failures and snoozes, one at a time (the uncommon path). Each ends its attempt too.
    IF cardinality(v_valid) > cardinality(v_succeeded) THEN
        DELETE FROM flowsync.leases l
        WHERE l.step_id = ANY (v_valid) AND l.step_id <> ALL (v_succeeded);
        FOR v_report IN
            SELECT * FROM jsonb_to_recordset(p_reports) AS x(
                step_id bigint, kind text, error jsonb, retryable boolean, retry_after_ms bigint,
                until timestamptz, state jsonb)
            WHERE x.step_id = ANY (v_valid) AND x.step_id <> ALL (v_succeeded)
            ORDER BY x.step_id
        LOOP
            SELECT * INTO v_step FROM flowsync.steps s WHERE s.id = v_report.step_id;

            IF v_report.kind = 'snoozed' THEN
                v_run_at := coalesce(v_report.until, p_now);
                PERFORM flowsync._record_attempts(
                    ARRAY[v_step.id], 'snoozed', jsonb_build_object('until', v_run_at), p_now);
                UPDATE flowsync.steps s
                SET status = 'queued', state = v_report.state, attempt = s.attempt - 1,
                    run_at = v_run_at, queued_at = p_now
                WHERE s.id = v_step.id;
                INSERT INTO flowsync.jobs (step_id, queue, run_at)
                VALUES (v_step.id, (flowsync._step_node(v_step)).queue, v_run_at);
                v_jobs := v_jobs || v_step.id;

            ELSIF v_report.kind = 'failed' THEN
                IF flowsync._fail_attempt(v_step, v_report.error, coalesce(v_report.retryable, true),
                                          v_report.retry_after_ms, 'retry', false, p_now) THEN
                    v_jobs := v_jobs || v_step.id;
                ELSE
                    v_ended := v_ended || v_step.id;
                END IF;
            ELSE
                RAISE EXCEPTION 'report for step %: unknown kind "%"', v_report.step_id, v_report.kind
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
        END LOOP;
    END IF;

    IF cardinality(v_jobs) > 0 THEN
        PERFORM flowsync._notify_jobs(v_jobs);
    END IF;
    RETURN QUERY SELECT * FROM flowsync._settle(
        v_ended, p_now, p_worker, p_queues, p_limit, p_lease_ms);
    GET DIAGNOSTICS v_handed = ROW_COUNT;

    -- Fill the worker's remaining slots from the job table: one round trip per cycle.
    IF p_top_up AND p_worker IS NOT NULL AND p_limit > v_handed THEN
        RETURN QUERY SELECT * FROM flowsync.claim_steps(
            p_worker, p_queues, p_limit - v_handed, p_lease_ms, p_now);
    END IF;
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
