-- Move a cron trigger to its next tick (after its due ticks were fired or skipped).
CREATE OR REPLACE FUNCTION flowsync.trigger_advance(
    p_id            uuid,
    p_next_fire_at  timestamptz
) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE flowsync.triggers t SET next_fire_at = p_next_fire_at
    WHERE t.id = p_id AND t.kind = 'cron';
    RETURN FOUND;
END;
$$;
