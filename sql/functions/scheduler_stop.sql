-- A scheduler says goodbye on a clean exit: it stops leading (releasing the lock if this
-- session holds it, so a follower takes over on its next try) and is marked stopped.
CREATE OR REPLACE FUNCTION flowsync.scheduler_stop(
    p_id   text,
    p_now  timestamptz DEFAULT now()
) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE flowsync.schedulers s
    SET stopped_at = p_now, last_seen_at = p_now, leader_since = NULL
    WHERE s.id = p_id;
    IF flowsync.scheduler_lock_holder() = pg_backend_pid() THEN
        PERFORM pg_advisory_unlock(flowsync.scheduler_lock_key());
    END IF;
END;
$$;
