-- Create a trigger of a workflow. The API validated the config and computed the columns
-- derived from it (hook key and secret of a webhook, event type pattern, next cron tick).
-- Errors (SQLSTATE): FS001 unknown workflow, FS002 archived workflow.
CREATE OR REPLACE FUNCTION flowsync.trigger_create(
    p_workflow       text,
    p_kind           text,
    p_enabled        boolean,
    p_config         jsonb,
    p_input_mapping  text,
    p_hook_key       text,
    p_secret         text,
    p_event_type     text,
    p_next_fire_at   timestamptz,
    p_actor          uuid DEFAULT NULL,
    p_now            timestamptz DEFAULT now()
) RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
    v_workflow  flowsync.workflows;
    v_id        uuid;
BEGIN
    SELECT * INTO v_workflow FROM flowsync.workflows w WHERE w.name = p_workflow FOR KEY SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'workflow "%" does not exist', p_workflow USING ERRCODE = 'FS001';
    END IF;
    IF v_workflow.archived_at IS NOT NULL THEN
        RAISE EXCEPTION 'workflow "%" is archived; restore it to add triggers', p_workflow
            USING ERRCODE = 'FS002';
    END IF;

    INSERT INTO flowsync.triggers AS t
        (workflow_id, kind, enabled, config, input_mapping, hook_key, secret, event_type,
         next_fire_at, created_at, updated_at)
    VALUES (v_workflow.id, p_kind, p_enabled, coalesce(p_config, '{}'), p_input_mapping,
            p_hook_key, p_secret, p_event_type, p_next_fire_at, p_now, p_now)
    RETURNING t.id INTO v_id;

    INSERT INTO flowsync.audit_log (at, actor, action, subject, details)
    VALUES (p_now, p_actor, 'trigger.created', 'trigger:' || v_id,
            jsonb_build_object('workflow', p_workflow, 'kind', p_kind));
    RETURN v_id;
END;
$$;
