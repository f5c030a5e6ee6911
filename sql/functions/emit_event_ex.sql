-- Record an event for the event triggers (see emit_event). Returns its id and whether it is
-- new: an event whose id was emitted before changes nothing (created = false).
-- Errors (SQLSTATE): FS010 invalid type or id.
CREATE OR REPLACE FUNCTION flowsync.emit_event_ex(
    p_type     text,
    p_payload  jsonb DEFAULT '{}',
    p_id       text DEFAULT NULL,
    p_now      timestamptz DEFAULT now()
) RETURNS TABLE (event_id text, created boolean)
LANGUAGE plpgsql AS $$
DECLARE
    v_id     text := coalesce(p_id, gen_random_uuid()::text);
    v_count  integer;
BEGIN
    IF p_type IS NULL OR length(p_type) > 200
       OR p_type !~ '^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$' THEN
        RAISE EXCEPTION 'invalid event type "%": dot-separated names of letters, digits, "_" '
            'and "-" (at most 200 characters), like "orders.paid"', p_type
            USING ERRCODE = 'FS010';
    END IF;
    IF length(v_id) NOT BETWEEN 1 AND 200 THEN
        RAISE EXCEPTION 'invalid event id: 1 to 200 characters' USING ERRCODE = 'FS010';
    END IF;

    INSERT INTO flowsync.events (id, type, payload, emitted_at)
    VALUES (v_id, p_type, coalesce(p_payload, '{}'::jsonb), p_now)
    ON CONFLICT (id) DO NOTHING;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    IF v_count > 0 THEN
        -- Wakes the scheduler when (and only if) the emitting transaction commits.
        PERFORM pg_notify('flowsync_events', '');
    END IF;
    RETURN QUERY SELECT v_id, v_count > 0;
END;
$$;
