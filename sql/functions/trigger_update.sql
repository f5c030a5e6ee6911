-- Replace what may change of a trigger (enabled, config, input mapping and the columns
-- derived from the config); kind, workflow, hook key and secret never change. A NULL
-- p_next_fire_at keeps a cron trigger's next tick (which the scheduler may have just moved).
-- Returns false when the trigger does not exist.
CREATE OR REPLACE FUNCTION flowsync.trigger_update(
    p_id             uuid,
    p_enabled        boolean,
    p_config         jsonb,
    p_input_mapping  text,
    p_event_type     text,
    p_next_fire_at   timestamptz,
    p_actor          uuid DEFAULT NULL,
    p_now            timestamptz DEFAULT now()
) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE flowsync.triggers t
    SET enabled = p_enabled, config = coalesce(p_config, '{}'), input_mapping = p_input_mapping,
        event_type = p_event_type, updated_at = p_now,
        next_fire_at = CASE WHEN t.kind = 'cron' THEN coalesce(p_next_fire_at, t.next_fire_at) END
    WHERE t.id = p_id;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    INSERT INTO flowsync.audit_log (at, actor, action, subject, details)
    VALUES (p_now, p_actor, 'trigger.updated', 'trigger:' || p_id,
            jsonb_build_object('enabled', p_enabled));
    RETURN true;
END;
$$;
