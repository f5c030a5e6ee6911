-- Store a validated definition: a new version when it differs from the latest, else a no-op.
-- Returns the version now current and whether this call created it.
CREATE OR REPLACE FUNCTION flowsync.save_workflow_version(
    p_name        text,
    p_definition  jsonb,
    p_checksum    text,
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

    UPDATE flowsync.workflows w
    SET latest_version = v_workflow.latest_version + 1, updated_at = p_now
    WHERE w.id = v_workflow.id;

    INSERT INTO flowsync.audit_log (at, actor, action, subject, details)
    VALUES (p_now, p_actor, 'workflow.version_created', 'workflow:' || p_name,
            jsonb_build_object('version', v_workflow.latest_version + 1, 'checksum', p_checksum));

    RETURN QUERY SELECT v_workflow.id, v_workflow.latest_version + 1, true;
END;
$$;
