-- Archive (no new executions) or restore a workflow. Returns false when it does not exist.
-- Archiving an archived workflow, or restoring an active one, changes nothing.
CREATE OR REPLACE FUNCTION flowsync.set_workflow_archived(
    p_name      text,
    p_archived  boolean,
    p_actor     uuid DEFAULT NULL,
    p_now       timestamptz DEFAULT now()
) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    v_changed integer;
BEGIN
    UPDATE flowsync.workflows w
    SET archived_at = CASE WHEN p_archived THEN p_now END, updated_at = p_now
    WHERE w.name = p_name AND (w.archived_at IS NOT NULL) <> p_archived;
    GET DIAGNOSTICS v_changed = ROW_COUNT;

    IF v_changed > 0 THEN
        INSERT INTO flowsync.audit_log (at, actor, action, subject)
        VALUES (p_now, p_actor,
                CASE WHEN p_archived THEN 'workflow.archived' ELSE 'workflow.restored' END,
                'workflow:' || p_name);
        RETURN true;
    END IF;
    RETURN EXISTS (SELECT 1 FROM flowsync.workflows w WHERE w.name = p_name);
END;
$$;
