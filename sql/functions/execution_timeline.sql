-- The ordered story of one execution: lifecycle timestamps of the execution and its steps,
-- every attempt that did not succeed, and events such as cancel and resume. Events of one
-- instant (one transaction) are ordered as they happen: steps end, then what they unlocked
-- is queued, then started.
CREATE OR REPLACE FUNCTION flowsync.execution_timeline(p_execution_id uuid)
RETURNS TABLE (at timestamptz, event text, node_id text, attempt integer, detail jsonb)
LANGUAGE sql STABLE AS $$
    SELECT t.at, t.event, t.node_id, t.attempt, t.detail FROM (
        SELECT e.created_at AS at, 0 AS rank, 0::bigint AS seq, 'execution.created' AS event,
               NULL::text AS node_id, NULL::integer AS attempt,
               jsonb_build_object('version', e.version) AS detail
        FROM flowsync.executions e WHERE e.id = p_execution_id
        UNION ALL
        SELECT e.started_at, 1, 0, 'execution.started', NULL, NULL, '{}'
        FROM flowsync.executions e WHERE e.id = p_execution_id AND e.started_at IS NOT NULL
        UNION ALL
        SELECT e.finished_at, 9, 0, 'execution.' || e.status, NULL, NULL,
               coalesce(e.error, '{}')
        FROM flowsync.executions e WHERE e.id = p_execution_id AND e.finished_at IS NOT NULL
        UNION ALL
        SELECT a.queued_at, 3, a.id, 'step.queued', s.node_id, NULL, '{}'
        FROM flowsync.step_attempts a JOIN flowsync.steps s ON s.id = a.step_id
        WHERE a.execution_id = p_execution_id AND a.queued_at IS NOT NULL
        UNION ALL
        SELECT a.started_at, 4, a.id, 'step.started', s.node_id, a.attempt, '{}'
        FROM flowsync.step_attempts a JOIN flowsync.steps s ON s.id = a.step_id
        WHERE a.execution_id = p_execution_id AND a.started_at IS NOT NULL
        UNION ALL
        SELECT a.ended_at, 2, a.id, 'step.' || a.outcome, s.node_id, a.attempt, coalesce(a.error, '{}')
        FROM flowsync.step_attempts a JOIN flowsync.steps s ON s.id = a.step_id
        WHERE a.execution_id = p_execution_id
        UNION ALL
        -- The latest attempt of each step lives on the step row itself.
        SELECT s.queued_at, 3, s.id, 'step.queued', s.node_id, NULL, '{}'
        FROM flowsync.steps s WHERE s.execution_id = p_execution_id AND s.queued_at IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM flowsync.step_attempts a
                          WHERE a.step_id = s.id AND a.queued_at = s.queued_at)
        UNION ALL
        SELECT s.started_at, 4, s.id, 'step.started', s.node_id, s.attempt, '{}'
        FROM flowsync.steps s WHERE s.execution_id = p_execution_id AND s.started_at IS NOT NULL
          AND s.status IN ('running', 'succeeded')
        UNION ALL
        SELECT s.finished_at, 2, s.id, 'step.' || s.status, s.node_id,
               CASE WHEN s.attempt > 0 THEN s.attempt END, coalesce(s.error, '{}')
        FROM flowsync.steps s WHERE s.execution_id = p_execution_id AND s.finished_at IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM flowsync.step_attempts a
                          WHERE a.step_id = s.id AND a.attempt = s.attempt
                            AND a.outcome IN ('failed', 'dead', 'cancelled'))
        UNION ALL
        SELECT v.at, 6, v.id, 'execution.' || v.kind, NULL, NULL, v.detail
        FROM flowsync.execution_events v WHERE v.execution_id = p_execution_id
    ) t
    ORDER BY t.at, t.rank, t.seq
$$;
