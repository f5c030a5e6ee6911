-- Tell the workers of these queues that a worker joined or left them: a notification on
-- flowsync_jobs saying "<queue> workers" (see _wake_workers for the other kind), so they
-- count their peers again (worker_peers).
CREATE OR REPLACE FUNCTION flowsync._announce_workers(p_queues text[])
RETURNS void
LANGUAGE sql AS $$
    SELECT pg_notify('flowsync_jobs', q || ' workers') FROM unnest(p_queues) AS q
$$;
