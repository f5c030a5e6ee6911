-- After steps reached a terminal state (p_terminal, not yet accounted for; any number of
-- executions): apply their edges to their dependents, decide each dependent by its join
-- rule, follow skips downstream, update the executions' counters and finish those with no
-- open step left. Dependents that may run go straight to p_worker, leased, up to p_limit of
-- them in p_queues (by id): they are returned as claims, so a worker finishing a step gets
-- the next step of a chain in the same round trip. The other ones become jobs.
-- One write per dependent (its counters and its new status, leased or not) and one per
-- execution per round of skips, set-based: the cost grows with the number of edges, not with
-- one statement per step. Callers hold the executions' row locks.
CREATE OR REPLACE FUNCTION flowsync._settle(
    p_terminal  bigint[],
    p_now       timestamptz,
    p_worker    text DEFAULT NULL,
    p_queues    text[] DEFAULT '{}',
    p_limit     integer DEFAULT 0,
    p_lease_ms  integer DEFAULT 0
) RETURNS SETOF flowsync.step_claim
LANGUAGE plpgsql AS $$
DECLARE
    v_frontier   bigint[] := p_terminal;
    v_room       integer := CASE WHEN p_worker IS NULL THEN 0 ELSE greatest(p_limit, 0) END;
    v_leased     bigint[] := '{}';
    v_queued     bigint[] := '{}';
    v_queues     text[] := '{}';
    v_new_leased bigint[];
    v_new_queued bigint[];
    v_new_queues text[];
BEGIN
    WHILE coalesce(cardinality(v_frontier), 0) > 0 LOOP
        -- In one statement: add the frontier's edges to their dependents' counters and decide
        -- each dependent by its join rule (pending -> running under a lease for p_worker,
        -- queued, skipped, or still pending), and count the frontier as closed in its
        -- execution, which finishes when no open step is left: succeeded, or failed when a
        -- step failed for good (failed/dead and not continue_on_failure). (The statement's
        -- parts read the rows as they were before it; none reads a row another one writes.)
        WITH decided AS (
            UPDATE flowsync.steps d
            SET deps_succeeded = p.succeeded, deps_failed = p.failed, deps_skipped = p.skipped,
                status = CASE WHEN p.lease THEN 'running'::flowsync.step_status
                              WHEN p.decision = 'run' THEN 'queued'::flowsync.step_status
                              WHEN p.decision = 'skip' THEN 'skipped'::flowsync.step_status
                              ELSE d.status END,
                queued_at = CASE WHEN p.decision = 'run' THEN p_now ELSE d.queued_at END,
                run_at = CASE WHEN p.decision = 'run' THEN p_now ELSE d.run_at END,
                finished_at = CASE WHEN p.decision = 'skip' THEN p_now ELSE d.finished_at END,
                attempt = CASE WHEN p.lease THEN d.attempt + 1 ELSE d.attempt END,
                lease_token = CASE WHEN p.lease THEN gen_random_uuid() ELSE d.lease_token END,
                worker_id = CASE WHEN p.lease THEN p_worker ELSE d.worker_id END,
                started_at = CASE WHEN p.lease THEN p_now ELSE d.started_at END
            FROM (
                SELECT p.*,
                       p.decision = 'run' AND p.queue = ANY (p_queues)
                       AND row_number() OVER (PARTITION BY p.decision = 'run'
                                                           AND p.queue = ANY (p_queues)
                                              ORDER BY p.id) <= v_room AS lease
                FROM (
                    SELECT t.id, t.succeeded, t.failed, t.skipped, n.queue,
                           flowsync._join_decision(n.join_rule, n.upstream_count, t.succeeded,
                                                   t.failed, t.skipped) AS decision
                    FROM flowsync._edge_counts(v_frontier) c
                    -- (key lookups in this order, whatever the statistics say: see
                    -- _step_claims; the caller holds the execution's lock, so the counters
                    -- read here are the ones this statement updates)
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
                        SELECT n.join_rule, n.upstream_count, n.queue
                        FROM flowsync.workflow_nodes n
                        WHERE n.workflow_id = x.workflow_id AND n.version = x.version
                          AND n.node_idx = c.to_idx
                        OFFSET 0) n
                ) p
            ) p
            WHERE d.id = p.id
            RETURNING d.id, d.status, p.queue
        ), held AS (
            INSERT INTO flowsync.leases (step_id, worker_id, expires_at)
            SELECT d.id, p_worker, p_now + make_interval(secs => p_lease_ms / 1000.0)
            FROM decided d WHERE d.status = 'running'
        ), closed AS (
            UPDATE flowsync.executions e
            SET steps_open = e.steps_open - c.closed,
                steps_failed = e.steps_failed + c.failed,
                status = CASE WHEN e.steps_open > c.closed THEN e.status
                              WHEN e.steps_failed + c.failed > 0
                                  THEN 'failed'::flowsync.execution_status
                              ELSE 'succeeded'::flowsync.execution_status END,
                finished_at = CASE WHEN e.steps_open = c.closed THEN p_now END,
                -- (an inline subquery: a function call per finishing execution costs more)
                output = CASE WHEN e.steps_open = c.closed AND e.steps_failed + c.failed = 0 THEN (
                    SELECT CASE WHEN bool_or(s.node_id = '$output')
                                THEN jsonb_object_agg(s.node_id, s.output) -> '$output'
                                ELSE coalesce(jsonb_object_agg(s.node_id, s.output), '{}'::jsonb)
                           END
                    -- (the version's leaves: workflow_nodes_leaves_idx)
                    FROM flowsync.workflow_nodes n
                    CROSS JOIN LATERAL (  -- (a key lookup per leaf, whatever the statistics say)
                        SELECT s.node_id, s.output FROM flowsync.steps s
                        WHERE s.execution_id = e.id AND s.node_idx = n.node_idx
                          AND s.status = 'succeeded'
                        OFFSET 0) s
                    WHERE n.workflow_id = e.workflow_id AND n.version = e.version AND n.is_leaf)
                END,
                error = CASE WHEN e.steps_open = c.closed AND e.steps_failed + c.failed > 0
                             THEN flowsync._execution_error(e.id, e.workflow_id, e.version) END
            FROM (
                SELECT s.execution_id,
                       count(*)::int AS closed,
                       -- (the node is read only for a step that failed: rare)
                       (count(*) FILTER (WHERE CASE WHEN s.status IN ('failed', 'dead')
                                                    THEN NOT (flowsync._step_node(s)).continue_on_failure
                                                    ELSE false END))::int AS failed
                FROM unnest(v_frontier) AS c(id)
                CROSS JOIN LATERAL (  -- (a key lookup, whatever the statistics say)
                    SELECT s.* FROM flowsync.steps s WHERE s.id = c.id OFFSET 0) s
                GROUP BY s.execution_id
            ) c
            WHERE e.id = c.execution_id
        )
        SELECT coalesce(array_agg(d.id) FILTER (WHERE d.status = 'running'), '{}'),
               coalesce(array_agg(d.id ORDER BY d.id) FILTER (WHERE d.status = 'queued'), '{}'),
               coalesce(array_agg(d.queue ORDER BY d.id) FILTER (WHERE d.status = 'queued'), '{}'),
               coalesce(array_agg(d.id) FILTER (WHERE d.status = 'skipped'), '{}')
        INTO v_new_leased, v_new_queued, v_new_queues, v_frontier
        FROM decided d;

        v_leased := v_leased || v_new_leased;
        v_room := v_room - cardinality(v_new_leased);
        v_queued := v_queued || v_new_queued;
        v_queues := v_queues || v_new_queues;
    END LOOP;

    IF cardinality(v_queued) > 0 THEN
        PERFORM flowsync._enqueue(ROW(v_queued, v_queues)::flowsync.ready_steps, p_now);
    END IF;
    IF cardinality(v_leased) > 0 THEN
        RETURN QUERY SELECT * FROM flowsync._step_claims(v_leased);
    END IF;
END;
$$;
