-- Mark claimed events processed (their fires are recorded in the same transaction).
-- Returns how many were still pending.
CREATE OR REPLACE FUNCTION flowsync.process_event_done(
    p_event_ids  text[],
    p_now        timestamptz DEFAULT now()
) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_count integer;
BEGIN
    UPDATE flowsync.events e SET processed_at = p_now
    WHERE e.id = ANY (p_event_ids) AND e.processed_at IS NULL;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END;
$$;
