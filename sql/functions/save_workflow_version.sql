-- Store a validated definition: a new version when it differs from the latest, else a no-op.
-- p_plan is the definition compiled for the engine (every default resolved):
--   {"nodes": [{node_idx, node_id, type, config, queue, join_rule, timeout_ms, max_attempts,
--               backoff, backoff_initial_ms, backoff_max_ms, jitter, continue_on_failure,
--               upstream_count, is_leaf, context_nodes}],
--    "edges": [{from_idx, to_idx, when_value}]}
-- Returns the version now current and whether this call created it.
CREATE OR REPLACE FUNCTION flowsync.save_workflow_version(
    p_name        text,
    p_definition  jsonb,
    p_checksum    text,
    p_plan        jsonb,
    p_actor       uuid DEFAULT NULL,
    p_now         timestamptz DEFAULT now()
) RETURNS TABLE (workflow_id bigint, version integer, created boolean)
LANGUAGE plpgsql AS $$
DECLARE
    v_workflow flowsync.workflows;
    v_latest_checksum text;
BEGIN
    INSERT INTO flowsync.workflows AS w (name, created_at, updated_at)
    VALUES (p_name, p_now, p_now)
    ON CONFLICT (name) DO NOTHING;

    -- The row lock serialises concurrent saves of one workflow, so versions never collide.
    SELECT * INTO STRICT v_workflow FROM flowsync.workflows w WHERE w.name = p_name FOR UPDATE;

    SELECT wv.checksum INTO v_latest_checksum
    FROM flowsync.workflow_versions wv
    WHERE wv.workflow_id = v_workflow.id AND wv.version = v_workflow.latest_version;

    IF v_latest_checksum = p_checksum THEN
        RETURN QUERY SELECT v_workflow.id, v_workflow.latest_version, false;
        RETURN;
    END IF;

    INSERT INTO flowsync.workflow_versions (workflow_id, version, definition, checksum, created_at, created_by)
    VALUES (v_workflow.id, v_workflow.latest_version + 1, p_definition, p_checksum, p_now, p_actor);

    INSERT INTO flowsync.workflow_nodes
        (workflow_id, version, node_idx, node_id, type, config, queue, join_rule, timeout_ms,
         max_attempts, backoff, backoff_initial_ms, backoff_max_ms, jitter, continue_on_failure,
         upstream_count, is_leaf, context_nodes)
    SELECT v_workflow.id, v_workflow.latest_version + 1, n.node_idx, n.node_id, n.type,
           coalesce(n.config, '{}'), n.queue, n.join_rule, n.timeout_ms, n.max_attempts, n.backoff,
           n.backoff_initial_ms, n.backoff_max_ms, n.jitter, n.continue_on_failure,
           n.upstream_count, n.is_leaf,
           ARRAY(SELECT jsonb_array_elements_text(n.context_nodes)::integer)
    FROM jsonb_to_recordset(p_plan->'nodes') AS n(
        node_idx integer, node_id text, type text, config jsonb, queue text,
        join_rule flowsync.join_rule, timeout_ms integer, max_attempts integer, backoff text,
        backoff_initial_ms integer, backoff_max_ms integer, jitter boolean,
        continue_on_failure boolean, upstream_count integer, is_leaf boolean, context_nodes jsonb);

    INSERT INTO flowsync.workflow_edges (workflow_id, version, from_idx, to_idx, when_value)
    SELECT v_workflow.id, v_workflow.latest_version + 1, e.from_idx, e.to_idx, e.when_value
    FROM jsonb_to_recordset(p_plan->'edges') AS e(from_idx integer, to_idx integer, when_value jsonb);

    UPDATE flowsync.workflows w
    SET latest_version = v_workflow.latest_version + 1, updated_at = p_now
    WHERE w.id = v_workflow.id;

    INSERT INTO flowsync.audit_log (at, actor, action, subject, details)
    VALUES (p_now, p_actor, 'workflow.version_created', 'workflow:' || p_name,
            jsonb_build_object('version', v_workflow.latest_version + 1, 'checksum', p_checksum));

    RETURN QUERY SELECT v_workflow.id, v_workflow.latest_version + 1, true;
END;
$$;
