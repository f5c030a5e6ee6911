-- The one wake-up for workers: a notification on flowsync_jobs saying "<queue> <run_at as epoch
-- milliseconds>" (flowsync/worker/listener.py reads it; "<queue> workers" is the other kind,
-- _announce_workers), so a sleeping worker can shorten its sleep. Only a wake-up: workers
-- also poll, and never rely on a notification arriving.
-- Postgres folds identical notifications within a transaction.
CREATE OR REPLACE FUNCTION flowsync._wake_workers(p_queue text, p_run_at timestamptz)
RETURNS void
LANGUAGE sql AS $$
    SELECT pg_notify('flowsync_jobs',
                     p_queue || ' ' || floor(extract(epoch FROM p_run_at) * 1000)::bigint)
$$;
