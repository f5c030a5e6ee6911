-- Fire a trigger once for a dedupe key: record the fire and start the execution in one
-- transaction, so a crash neither loses nor doubles a start. The execution's idempotency key
-- is 'trigger:<trigger id>:<dedupe key>'.
--
--   result 'started'    a new execution (execution_id)
--          'duplicate'  the key fired before: the execution it started (execution_id)
--          'failed'     nothing started (error): p_error was given (the caller could not
--                       build the input), or the workflow is archived or gone; the fire is
--                       recorded, and a repeat of the key tries again
--          'not_found'  no such trigger, or it is disabled
--
-- p_dedupe_key NULL means "no dedupe": every call starts an execution.
CREATE OR REPLACE FUNCTION flowsync.fire_trigger(
    p_trigger_id     uuid,
    p_dedupe_key     text,
    p_input          jsonb,
    p_error          text DEFAULT NULL,
    p_scheduled_for  timestamptz DEFAULT NULL,
    p_now            timestamptz DEFAULT now()
) RETURNS TABLE (result text, execution_id uuid, error text)
LANGUAGE plpgsql AS $$
DECLARE
    v_workflow  text;
    v_fire      bigint;
    v_existing  uuid;
    v_started   record;
BEGIN
    SELECT w.name INTO v_workflow
    FROM flowsync.triggers t JOIN flowsync.workflows w ON w.id = t.workflow_id
    WHERE t.id = p_trigger_id AND t.enabled
    FOR KEY SHARE OF t;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'not_found'::text, NULL::uuid, NULL::text;
        RETURN;
    END IF;

    -- A concurrent fire of the same key waits here for the first one to commit.
    INSERT INTO flowsync.trigger_fires AS f
        (trigger_id, dedupe_key, scheduled_for, error, fired_at)
    VALUES (p_trigger_id, p_dedupe_key, p_scheduled_for, p_error, p_now)
    ON CONFLICT (trigger_id, dedupe_key) DO UPDATE
        SET fired_at = excluded.fired_at, error = excluded.error,
            scheduled_for = excluded.scheduled_for
        WHERE f.execution_id IS NULL
    RETURNING f.id INTO v_fire;

    IF v_fire IS NULL THEN
        SELECT f.execution_id INTO v_existing FROM flowsync.trigger_fires f
        WHERE f.trigger_id = p_trigger_id AND f.dedupe_key = p_dedupe_key;
        RETURN QUERY SELECT 'duplicate'::text, v_existing, NULL::text;
        RETURN;
    END IF;
    IF p_error IS NOT NULL THEN
        RETURN QUERY SELECT 'failed'::text, NULL::uuid, p_error;
        RETURN;
    END IF;

    BEGIN
        SELECT x.execution_id, x.created INTO v_started
        FROM flowsync.start_execution_ex(
            v_workflow, coalesce(p_input, '{}'::jsonb),
            'trigger:' || p_trigger_id || ':' || p_dedupe_key, NULL, p_now) x;
    EXCEPTION WHEN SQLSTATE 'FS001' OR SQLSTATE 'FS002' OR SQLSTATE 'FS003'
                   OR SQLSTATE 'FS004' THEN
        UPDATE flowsync.trigger_fires f SET error = SQLERRM WHERE f.id = v_fire;
        RETURN QUERY SELECT 'failed'::text, NULL::uuid, SQLERRM;
        RETURN;
    END;

    UPDATE flowsync.trigger_fires f SET execution_id = v_started.execution_id, error = NULL
    WHERE f.id = v_fire;
    RETURN QUERY SELECT CASE WHEN v_started.created THEN 'started' ELSE 'duplicate' END,
                        v_started.execution_id, NULL::text;
END;
$$;
