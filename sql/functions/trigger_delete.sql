-- Delete a trigger and its fire records. Returns false when it does not exist.
CREATE OR REPLACE FUNCTION flowsync.trigger_delete(
    p_id     uuid,
    p_actor  uuid DEFAULT NULL,
    p_now    timestamptz DEFAULT now()
) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM flowsync.triggers t WHERE t.id = p_id;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    INSERT INTO flowsync.audit_log (at, actor, action, subject)
    VALUES (p_now, p_actor, 'trigger.deleted', 'trigger:' || p_id);
    RETURN true;
END;
$$;
