-- A worker announces itself on start and says goodbye on a clean stop; the other workers of
-- its queues are told either way (_announce_workers).
CREATE OR REPLACE FUNCTION flowsync.register_worker(
    p_id text, p_hostname text, p_pid integer, p_queues text[], p_concurrency integer,
    p_now timestamptz DEFAULT now()
) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO flowsync.workers AS w (id, hostname, pid, queues, concurrency, started_at, last_seen_at)
    VALUES (p_id, p_hostname, p_pid, p_queues, p_concurrency, p_now, p_now)
    ON CONFLICT (id) DO UPDATE SET last_seen_at = p_now, stopped_at = NULL;
    SELECT flowsync._announce_workers(p_queues);
$$;

CREATE OR REPLACE FUNCTION flowsync.stop_worker(p_id text, p_now timestamptz DEFAULT now())
RETURNS void
LANGUAGE sql AS $$
    UPDATE flowsync.workers w SET stopped_at = p_now, last_seen_at = p_now WHERE w.id = p_id;
    SELECT flowsync._announce_workers(w.queues) FROM flowsync.workers w WHERE w.id = p_id;
$$;
