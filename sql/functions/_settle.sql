-- After steps of one execution reached a terminal state (p_terminal, not yet accounted for):
-- apply their edges to their dependents, decide each dependent by its join rule, skip what
-- can no longer run (and follow those skips downstream), mark newly runnable steps queued,
-- and finish the execution when no step is left open. Returns the newly queued step ids;
-- the caller hands them to _dispatch. The caller holds the execution's row lock.
CREATE OR REPLACE FUNCTION flowsync._settle(
    p_execution_id  uuid,
    p_terminal      bigint[],
    p_now           timestamptz
) RETURNS bigint[]
LANGUAGE plpgsql AS $$
DECLARE
    v_workflow_id bigint;
    v_version     integer;
    v_frontier    bigint[] := p_terminal;
    v_ready       bigint[] := '{}';
    v_new_ready   bigint[];
    v_skipped     bigint[];
    v_closed      integer;
    v_failed      integer;
    v_open        integer;
BEGIN
    SELECT e.workflow_id, e.version INTO v_workflow_id, v_version
    FROM flowsync.executions e WHERE e.id = p_execution_id;

    -- Failures that fail the execution: failed/dead steps not marked continue_on_failure.
    SELECT count(*) INTO v_failed
    FROM flowsync.steps s
    JOIN flowsync.workflow_nodes n
      ON n.workflow_id = v_workflow_id AND n.version = v_version AND n.node_idx = s.node_idx
    WHERE s.id = ANY (p_terminal) AND s.status IN ('failed', 'dead') AND NOT n.continue_on_failure;
    v_closed := coalesce(cardinality(p_terminal), 0);

    WHILE coalesce(cardinality(v_frontier), 0) > 0 LOOP
        WITH edge_results AS (
            SELECT e.to_idx,
                   (u.status = 'succeeded' AND (e.when_value IS NULL OR e.when_value = u.outcome))::int AS ok,
                   (u.status IN ('failed', 'dead', 'cancelled'))::int AS failed,
                   (u.status = 'skipped'
                    OR (u.status = 'succeeded' AND e.when_value IS NOT NULL
                        AND e.when_value IS DISTINCT FROM u.outcome))::int AS skipped
            FROM flowsync.steps u
            JOIN flowsync.workflow_edges e
              ON e.workflow_id = v_workflow_id AND e.version = v_version AND e.from_idx = u.node_idx
            WHERE u.id = ANY (v_frontier)
        ), per_dependent AS (
            SELECT to_idx, sum(ok)::int AS ok, sum(failed)::int AS failed, sum(skipped)::int AS skipped
            FROM edge_results GROUP BY to_idx
        ), bumped AS (
            UPDATE flowsync.steps d
            SET deps_succeeded = d.deps_succeeded + p.ok,
                deps_failed = d.deps_failed + p.failed,
                deps_skipped = d.deps_skipped + p.skipped
            FROM per_dependent p
            WHERE d.execution_id = p_execution_id AND d.node_idx = p.to_idx AND d.status = 'pending'
            RETURNING d.id, d.node_idx, d.deps_succeeded, d.deps_failed, d.deps_skipped
        ), decided AS (
            SELECT b.id,
                   flowsync._join_decision(n.join_rule, n.upstream_count, b.deps_succeeded,
                                           b.deps_failed, b.deps_skipped) AS decision
            FROM bumped b
            JOIN flowsync.workflow_nodes n
              ON n.workflow_id = v_workflow_id AND n.version = v_version AND n.node_idx = b.node_idx
        )
        SELECT coalesce(array_agg(d.id) FILTER (WHERE d.decision = 'run'), '{}'),
               coalesce(array_agg(d.id) FILTER (WHERE d.decision = 'skip'), '{}')
        INTO v_new_ready, v_skipped
        FROM decided d;

        IF cardinality(v_skipped) > 0 THEN
            UPDATE flowsync.steps s SET status = 'skipped', finished_at = p_now
            WHERE s.id = ANY (v_skipped);
        END IF;
        IF cardinality(v_new_ready) > 0 THEN
            UPDATE flowsync.steps s SET status = 'queued', queued_at = p_now, run_at = p_now
            WHERE s.id = ANY (v_new_ready);
        END IF;
        v_ready := v_ready || v_new_ready;
        v_closed := v_closed + cardinality(v_skipped);
        v_frontier := v_skipped;
    END LOOP;

    UPDATE flowsync.executions e
    SET steps_open = e.steps_open - v_closed, steps_failed = e.steps_failed + v_failed
    WHERE e.id = p_execution_id
    RETURNING e.steps_open INTO v_open;

    IF v_open = 0 THEN
        PERFORM flowsync._finish_execution(p_execution_id, p_now);
    END IF;
    RETURN v_ready;
END;
$$;
