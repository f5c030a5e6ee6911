-- The leader's check, every tick, on its dedicated session: true while this session holds
-- the scheduler lock (and then records the tick, at most once a second); false means the
-- caller must stop its duties at once.
CREATE OR REPLACE FUNCTION flowsync.scheduler_heartbeat(
    p_id   text,
    p_now  timestamptz DEFAULT now()
) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    IF flowsync.scheduler_lock_holder() IS DISTINCT FROM pg_backend_pid() THEN
        RETURN false;
    END IF;
    UPDATE flowsync.schedulers s SET last_tick_at = p_now, last_seen_at = p_now
    WHERE s.id = p_id AND s.leader_since IS NOT NULL
      AND (s.last_tick_at IS NULL OR s.last_tick_at <= p_now - interval '1 second');
    RETURN true;
END;
$$;
