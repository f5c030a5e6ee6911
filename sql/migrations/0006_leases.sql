-- Leases move out of the steps table, so that a step's updates on the hot path are HOT.
--
-- Every index a table has is written again by a non-HOT update. Three partial indexes of
-- flowsync.steps read columns that every step changes on its way (status, lease_expires_at,
-- worker_id, finished_at), so both of a step's updates on the hot path (queued -> running,
-- running -> succeeded) wrote four and two index entries beside the row: measured, more than
-- a third of the server's time per single-step execution.
--
-- * flowsync.leases holds a running step's lease: a row inserted when the step is leased,
--   deleted when its attempt ends (reported, failed, handed back, rescued, cancelled). It is
--   as small as the work in flight, so looking up a worker's leases reads it whole.
-- * steps.dead_lettered_at is set when a step ends failed or dead, and cleared when it is
--   retried: the dead-letter list's index reads it instead of status and finished_at.
-- * fillfactor 50 leaves each page room for its rows' next versions (see 0005_hot_path);
--   it applies to pages written from now on.
CREATE TABLE flowsync.leases (
    step_id     bigint      PRIMARY KEY,
    worker_id   text        NOT NULL,
    expires_at  timestamptz NOT NULL
) WITH (
    autovacuum_vacuum_scale_factor = 0.0,
    autovacuum_vacuum_threshold = 5000,
    autovacuum_vacuum_insert_scale_factor = 0.0,
    autovacuum_vacuum_insert_threshold = 5000,
    autovacuum_analyze_scale_factor = 0.05
);
CREATE INDEX leases_expires_at_idx ON flowsync.leases (expires_at);

INSERT INTO flowsync.leases (step_id, worker_id, expires_at)
SELECT s.id, s.worker_id, s.lease_expires_at FROM flowsync.steps s WHERE s.status = 'running';

ALTER TABLE flowsync.steps ADD COLUMN dead_lettered_at timestamptz;
UPDATE flowsync.steps s SET dead_lettered_at = s.finished_at WHERE s.status IN ('failed', 'dead');

-- The views that read running steps or dead letters, through the new structures (their
-- columns unchanged).
CREATE OR REPLACE VIEW flowsync.queue_depth AS
WITH waiting AS (
    SELECT j.queue,
           count(*) FILTER (WHERE j.run_at <= now()) AS ready,
           count(*) FILTER (WHERE j.run_at > now()) AS delayed,
           min(j.run_at) FILTER (WHERE j.run_at <= now()) AS oldest_ready_at,
           min(j.run_at) FILTER (WHERE j.run_at > now()) AS next_delayed_at
    FROM flowsync.jobs j
    GROUP BY j.queue
), running AS (
    SELECT n.queue, count(*) AS running
    FROM flowsync.leases l
    JOIN flowsync.steps s ON s.id = l.step_id
    JOIN flowsync.executions e ON e.id = s.execution_id
    JOIN flowsync.workflow_nodes n
      ON n.workflow_id = e.workflow_id AND n.version = e.version AND n.node_idx = s.node_idx
    GROUP BY n.queue
)
SELECT coalesce(w.queue, r.queue) AS queue,
       coalesce(w.ready, 0) AS ready,
       coalesce(w.delayed, 0) AS delayed,
       coalesce(r.running, 0) AS running,
       now() - w.oldest_ready_at AS oldest_ready_age,
       w.next_delayed_at - now() AS next_due_in
FROM waiting w
FULL JOIN running r ON r.queue = w.queue
ORDER BY 1;

CREATE OR REPLACE VIEW flowsync.running_steps AS
SELECT s.execution_id,
       w.name AS workflow,
       e.version,
       s.node_id,
       s.id AS step_id,
       n.queue,
       s.worker_id,
       s.attempt,
       n.max_attempts,
       s.started_at,
       now() - s.started_at AS lease_age,
       l.expires_at - now() AS lease_expires_in,
       wk.last_seen_at AS worker_last_seen_at
FROM flowsync.leases l
JOIN flowsync.steps s ON s.id = l.step_id
JOIN flowsync.executions e ON e.id = s.execution_id
JOIN flowsync.workflows w ON w.id = e.workflow_id
JOIN flowsync.workflow_nodes n
  ON n.workflow_id = e.workflow_id AND n.version = e.version AND n.node_idx = s.node_idx
LEFT JOIN flowsync.workers wk ON wk.id = s.worker_id
ORDER BY s.started_at, s.id;

CREATE OR REPLACE VIEW flowsync.dead_letters AS
SELECT s.id AS step_id,
       s.execution_id,
       w.name AS workflow,
       e.version,
       s.node_id,
       s.status::text AS status,
       s.attempt,
       s.error ->> 'message' AS error_message,
       s.error,
       s.finished_at
FROM flowsync.steps s
JOIN flowsync.executions e ON e.id = s.execution_id
JOIN flowsync.workflows w ON w.id = e.workflow_id
WHERE s.dead_lettered_at IS NOT NULL
ORDER BY s.dead_lettered_at DESC, s.id DESC;

CREATE OR REPLACE VIEW flowsync.worker_status AS
SELECT wk.id,
       wk.hostname,
       wk.pid,
       wk.queues,
       wk.concurrency,
       CASE WHEN wk.stopped_at IS NOT NULL THEN 'stopped'
            WHEN h.expired > 0 THEN 'unresponsive'
            WHEN h.running > 0 THEN 'busy'
            ELSE 'idle' END AS state,
       h.running,
       wk.started_at,
       wk.last_seen_at,
       wk.stopped_at
FROM flowsync.workers wk
CROSS JOIN LATERAL (
    SELECT count(*) AS running,
           count(*) FILTER (WHERE l.expires_at < now()) AS expired
    FROM flowsync.leases l
    WHERE l.worker_id = wk.id
) h
ORDER BY wk.stopped_at IS NOT NULL, wk.started_at DESC;

DROP INDEX flowsync.steps_lease_expires_at_idx;
DROP INDEX flowsync.steps_running_worker_idx;
DROP INDEX flowsync.steps_dead_letters_idx;
ALTER TABLE flowsync.steps DROP CONSTRAINT steps_running_lease_chk;
ALTER TABLE flowsync.steps DROP COLUMN lease_expires_at;

ALTER TABLE flowsync.steps
    ADD CONSTRAINT steps_running_lease_chk
        CHECK (status <> 'running' OR (lease_token IS NOT NULL AND worker_id IS NOT NULL)),
    ADD CONSTRAINT steps_dead_lettered_chk
        CHECK ((status IN ('failed', 'dead')) = (dead_lettered_at IS NOT NULL));
CREATE INDEX steps_dead_letters_idx ON flowsync.steps (dead_lettered_at DESC, id DESC)
    WHERE dead_lettered_at IS NOT NULL;
ALTER TABLE flowsync.steps SET (fillfactor = 50);
