-- One try for the scheduler lock, from the scheduler's dedicated session: true when this
-- session now holds it (and so leads). Records the process either way, so operators see
-- followers too. Call it only while not leading: advisory locks count re-acquisitions.
-- The lock outlives this transaction; it is released when the session ends.
CREATE OR REPLACE FUNCTION flowsync.scheduler_lead(
    p_id        text,
    p_hostname  text,
    p_pid       integer,
    p_now       timestamptz DEFAULT now()
) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    v_leads boolean;
BEGIN
    v_leads := pg_try_advisory_lock(flowsync.scheduler_lock_key());
    IF v_leads THEN
        -- A predecessor that crashed still claims to lead; it does not hold the lock.
        UPDATE flowsync.schedulers s SET leader_since = NULL
        WHERE s.leader_since IS NOT NULL AND s.id <> p_id;
    END IF;
    INSERT INTO flowsync.schedulers AS s
        (id, hostname, pid, backend_pid, started_at, last_seen_at, leader_since, last_tick_at)
    VALUES (p_id, p_hostname, p_pid, pg_backend_pid(), p_now, p_now,
            CASE WHEN v_leads THEN p_now END, CASE WHEN v_leads THEN p_now END)
    ON CONFLICT (id) DO UPDATE
    SET backend_pid = excluded.backend_pid,
        last_seen_at = p_now,
        stopped_at = NULL,
        leader_since = excluded.leader_since,
        last_tick_at = coalesce(excluded.last_tick_at, s.last_tick_at)
    -- A follower's row changes only every few seconds, not on each try.
    WHERE s.backend_pid <> excluded.backend_pid OR s.stopped_at IS NOT NULL
       OR s.leader_since IS DISTINCT FROM excluded.leader_since
       OR s.last_seen_at <= p_now - interval '5 seconds';
    RETURN v_leads;
END;
$$;
