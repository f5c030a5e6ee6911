-- Lock up to p_limit unprocessed events (only p_event_id when given), oldest first, skipping
-- those another process holds; one row per (event, enabled event trigger whose type pattern
-- matches it), or one row with NULL trigger columns for an event nothing matches.
-- A pattern is an exact type, '*' (every type), or 'prefix.*' (every type below prefix).
CREATE OR REPLACE FUNCTION flowsync.process_event_claim(
    p_limit     integer DEFAULT 100,
    p_event_id  text DEFAULT NULL
) RETURNS TABLE (event_id text, event_type text, payload jsonb, emitted_at timestamptz,
                 trigger_id uuid, workflow text, config jsonb,
                 input_mapping text)
LANGUAGE sql AS $$
    WITH claimed AS (
        SELECT e.id, e.type, e.payload, e.emitted_at FROM flowsync.events e
        WHERE e.processed_at IS NULL AND (p_event_id IS NULL OR e.id = p_event_id)
        ORDER BY e.emitted_at, e.id
        LIMIT p_limit
        FOR UPDATE SKIP LOCKED
    )
    SELECT c.id, c.type, c.payload, c.emitted_at, t.id, w.name, t.config, t.input_mapping
    FROM claimed c
    LEFT JOIN flowsync.triggers t
        ON t.kind = 'event' AND t.enabled
       AND (t.event_type = c.type OR t.event_type = '*'
            OR (right(t.event_type, 2) = '.*' AND starts_with(c.type, left(t.event_type, -1))))
    LEFT JOIN flowsync.workflows w ON w.id = t.workflow_id
    ORDER BY c.emitted_at, c.id, t.created_at, t.id
$$;
