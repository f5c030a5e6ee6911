-- After steps reached a terminal state (p_terminal, not yet accounted for; any number of
-- executions): apply their edges to their dependents, decide each dependent by its join
-- rule (one write per dependent: its counters and, once decided, queued or skipped), follow
-- skips downstream, update the executions' counters and finish those with no open step left.
-- Set-based: the cost grows with the number of edges, not with one statement per step.
-- Returns the newly queued steps and their queues, for _dispatch. Callers hold the
-- executions' row locks.
CREATE OR REPLACE FUNCTION flowsync._settle(
    p_terminal  bigint[],
    p_now       timestamptz
) RETURNS flowsync.ready_steps
LANGUAGE plpgsql AS $$
DECLARE
    v_frontier   bigint[] := p_terminal;
    v_closed     bigint[] := p_terminal;
    v_ready      bigint[] := '{}';
    v_queues     text[] := '{}';
    v_new_ready  bigint[];
    v_new_queues text[];
    v_skipped    bigint[];
BEGIN
    IF coalesce(cardinality(p_terminal), 0) = 0 THEN
        RETURN ROW(v_ready, v_queues);
    END IF;

    WHILE coalesce(cardinality(v_frontier), 0) > 0 LOOP
        -- Add the frontier's edges to their dependents' counters and decide each dependent
        -- by its join rule, in one write: pending -> queued (run), skipped, or still pending.
        WITH decided AS (
            UPDATE flowsync.steps d
            SET deps_succeeded = p.succeeded, deps_failed = p.failed, deps_skipped = p.skipped,
                status = CASE p.decision WHEN 'run' THEN 'queued'::flowsync.step_status
                                         WHEN 'skip' THEN 'skipped'::flowsync.step_status
                                         ELSE d.status END,
                queued_at = CASE WHEN p.decision = 'run' THEN p_now ELSE d.queued_at END,
                run_at = CASE WHEN p.decision = 'run' THEN p_now ELSE d.run_at END,
                finished_at = CASE WHEN p.decision = 'skip' THEN p_now ELSE d.finished_at END
            FROM (
                SELECT t.id, t.succeeded, t.failed, t.skipped, n.queue,
                       flowsync._join_decision(n.join_rule, n.upstream_count, t.succeeded,
                                               t.failed, t.skipped) AS decision
                FROM flowsync._edge_counts(v_frontier) c
                -- (key lookups in this order, whatever the statistics say: see _lease_steps;
                -- the caller holds the execution's lock, so the counters read here are
                -- the ones this statement updates)
                CROSS JOIN LATERAL (
                    SELECT t.id, t.deps_succeeded + c.ok AS succeeded,
                           t.deps_failed + c.failed AS failed,
                           t.deps_skipped + c.skipped AS skipped
                    FROM flowsync.steps t
                    WHERE t.execution_id = c.execution_id AND t.node_idx = c.to_idx
                      AND t.status = 'pending'
                    OFFSET 0) t
                CROSS JOIN LATERAL (
                    SELECT x.workflow_id, x.version FROM flowsync.executions x
                    WHERE x.id = c.execution_id OFFSET 0) x
                CROSS JOIN LATERAL (
                    SELECT n.join_rule, n.upstream_count, n.queue FROM flowsync.workflow_nodes n
                    WHERE n.workflow_id = x.workflow_id AND n.version = x.version
                      AND n.node_idx = c.to_idx
                    OFFSET 0) n
            ) p
            WHERE d.id = p.id
            RETURNING d.id, d.status, p.queue
        )
        SELECT coalesce(array_agg(d.id ORDER BY d.id) FILTER (WHERE d.status = 'queued'), '{}'),
               coalesce(array_agg(d.queue ORDER BY d.id) FILTER (WHERE d.status = 'queued'), '{}'),
               coalesce(array_agg(d.id) FILTER (WHERE d.status = 'skipped'), '{}')
        INTO v_new_ready, v_new_queues, v_skipped
        FROM decided d;

        v_ready := v_ready || v_new_ready;
        v_queues := v_queues || v_new_queues;
        v_closed := v_closed || v_skipped;
        v_frontier := v_skipped;
    END LOOP;

    -- Count what closed per execution; an execution with no open step left finishes in the
    -- same statement: succeeded, or failed when a step failed for good (failed/dead and not
    -- continue_on_failure).
    WITH closed AS (
        SELECT s.execution_id,
               count(*)::int AS closed,
               -- (the node is read only for a step that failed: rare)
               (count(*) FILTER (WHERE CASE WHEN s.status IN ('failed', 'dead')
                                            THEN NOT (flowsync._step_node(s)).continue_on_failure
                                            ELSE false END))::int AS failed
        FROM unnest(v_closed) AS c(id)
        CROSS JOIN LATERAL (  -- (a key lookup, whatever the statistics say)
            SELECT s.* FROM flowsync.steps s WHERE s.id = c.id OFFSET 0) s
        GROUP BY s.execution_id
    )
    UPDATE flowsync.executions e
    SET steps_open = e.steps_open - c.closed,
        steps_failed = e.steps_failed + c.failed,
        status = CASE WHEN e.steps_open > c.closed THEN e.status
                      WHEN e.steps_failed + c.failed > 0 THEN 'failed'::flowsync.execution_status
                      ELSE 'succeeded'::flowsync.execution_status END,
        finished_at = CASE WHEN e.steps_open = c.closed THEN p_now END,
        -- (an inline subquery: a function call per finishing execution costs more)
        output = CASE WHEN e.steps_open = c.closed AND e.steps_failed + c.failed = 0 THEN (
            SELECT CASE WHEN bool_or(s.node_id = '$output')
                        THEN jsonb_object_agg(s.node_id, s.output) -> '$output'
                        ELSE coalesce(jsonb_object_agg(s.node_id, s.output), '{}'::jsonb) END
            FROM flowsync.workflow_nodes n  -- (the version's leaves: workflow_nodes_leaves_idx)
            CROSS JOIN LATERAL (  -- (a key lookup per leaf, whatever the statistics say)
                SELECT s.node_id, s.output FROM flowsync.steps s
                WHERE s.execution_id = e.id AND s.node_idx = n.node_idx
                  AND s.status = 'succeeded'
                OFFSET 0) s
            WHERE n.workflow_id = e.workflow_id AND n.version = e.version AND n.is_leaf) END,
        error = CASE WHEN e.steps_open = c.closed AND e.steps_failed + c.failed > 0
                     THEN flowsync._execution_error(e.id, e.workflow_id, e.version) END
    FROM closed c
    WHERE e.id = c.execution_id;
    RETURN ROW(v_ready, v_queues);
END;
$$;
