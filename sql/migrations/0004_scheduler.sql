-- Scheduler processes (one of them leads), indexes that keep retention cheap, and the views
-- operators read at a psql prompt (docs/operations.md).
--
-- Leader election (flowsync/scheduler/leader.py):
--
--   scheduler A ──session 1──▶ pg_try_advisory_lock(key) = true   leads: duties + heartbeat
--   scheduler B ──session 2──▶ pg_try_advisory_lock(key) = false  retries every second
--   scheduler C ──session 3──▶ pg_try_advisory_lock(key) = false  retries every second
--
-- The lock is held by a session, not a transaction: it goes away when the leader's session
-- ends (clean exit, crash, SIGKILL, pg_terminate_backend), and a follower takes it on its next
-- try. The leader checks every tick that its session still holds it and steps down if not.

-- The advisory lock key every FlowSync scheduler of a database contends on (the migrator uses
-- ...001). Changing it would let two leaders run at once during a rolling upgrade: never do.
CREATE FUNCTION flowsync.scheduler_lock_key() RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$ SELECT 7340721385002::bigint $$;

-- The server pid of the session holding the scheduler lock in this database (NULL: none).
-- pg_locks shows a bigint key as its high half in classid and low half in objid.
CREATE FUNCTION flowsync.scheduler_lock_holder() RETURNS integer
LANGUAGE sql STABLE AS $$
    SELECT l.pid FROM pg_locks l
    WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
      AND l.database = (SELECT d.oid FROM pg_database d WHERE d.datname = current_database())
      AND l.classid = (flowsync.scheduler_lock_key() >> 32)::oid
      AND l.objid = (flowsync.scheduler_lock_key() & 4294967295)::oid
    LIMIT 1
$$;

-- One row per scheduler process. Only for people and GET /scheduler: who leads is decided by
-- the advisory lock alone, and the views check the lock, not just this table.
CREATE TABLE flowsync.schedulers (
    id            text        PRIMARY KEY,
    hostname      text        NOT NULL,
    pid           integer     NOT NULL,
    backend_pid   integer     NOT NULL,  -- server pid of its lock session (pg_locks.pid)
    started_at    timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    leader_since  timestamptz,           -- set while it leads
    last_tick_at  timestamptz,           -- the leader's last heartbeat (at most 1 s old)
    stopped_at    timestamptz,
    CONSTRAINT schedulers_stopped_chk CHECK (stopped_at IS NULL OR leader_since IS NULL)
);
-- At most one row claims to lead; a new leader clears its predecessor's claim first.
CREATE UNIQUE INDEX schedulers_one_leader_idx ON flowsync.schedulers ((true))
    WHERE leader_since IS NOT NULL;

-- Retention deletes finished executions oldest first, and their steps' attempts by cascade
-- (without this index every deleted step would scan step_attempts).
CREATE INDEX executions_finished_at_idx ON flowsync.executions (finished_at)
    WHERE finished_at IS NOT NULL;
CREATE INDEX step_attempts_step_idx ON flowsync.step_attempts (step_id);

-- Operators' views ------------------------------------------------------------------------

-- One row per queue: jobs ready now, jobs waiting for their run_at, steps running, how long
-- the oldest ready job has been waiting, and when the next delayed one falls due.
CREATE VIEW flowsync.queue_depth AS
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
    FROM flowsync.steps s
    JOIN flowsync.executions e ON e.id = s.execution_id
    JOIN flowsync.workflow_nodes n
      ON n.workflow_id = e.workflow_id AND n.version = e.version AND n.node_idx = s.node_idx
    WHERE s.status = 'running'
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

-- Steps a worker holds right now. lease_age: since the worker took it; lease_expires_in:
-- negative once expired (the step is rescued on the next pass: scheduler or worker).
CREATE VIEW flowsync.running_steps AS
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
       s.lease_expires_at - now() AS lease_expires_in,
       wk.last_seen_at AS worker_last_seen_at
FROM flowsync.steps s
JOIN flowsync.executions e ON e.id = s.execution_id
JOIN flowsync.workflows w ON w.id = e.workflow_id
JOIN flowsync.workflow_nodes n
  ON n.workflow_id = e.workflow_id AND n.version = e.version AND n.node_idx = s.node_idx
LEFT JOIN flowsync.workers wk ON wk.id = s.worker_id
WHERE s.status = 'running'
ORDER BY s.started_at, s.id;

-- Failed (non-retryable) and dead (retries spent) steps, newest first: replay them with
-- POST /dead-letters/{step_id}/replay or flowsync.resume_execution.
CREATE VIEW flowsync.dead_letters AS
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
WHERE s.status IN ('failed', 'dead')
ORDER BY s.finished_at DESC, s.id DESC;

-- Workers and what they hold. state: stopped (said goodbye), busy, idle, or unresponsive (it
-- holds steps whose leases expired: probably dead, its steps are about to be rescued).
-- An idle worker does not write last_seen_at, so an old value alone proves nothing.
CREATE VIEW flowsync.worker_status AS
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
           count(*) FILTER (WHERE s.lease_expires_at < now()) AS expired
    FROM flowsync.steps s
    WHERE s.status = 'running' AND s.worker_id = wk.id
) h
ORDER BY wk.stopped_at IS NOT NULL, wk.started_at DESC;

-- Scheduler processes. state: leading (its session holds the lock now), following (its
-- session is open and it tried for the lock in the last 15 s), stopped (exited cleanly), gone (killed, or cut off from the
-- database). A row that still has leader_since while its session does not hold the lock is a
-- leader that died before a successor took over: gone, whatever its last_seen_at says.
CREATE VIEW flowsync.scheduler_status AS
SELECT s.id,
       s.hostname,
       s.pid,
       CASE WHEN s.stopped_at IS NOT NULL THEN 'stopped'
            WHEN s.leader_since IS NOT NULL
                 AND s.backend_pid = flowsync.scheduler_lock_holder() THEN 'leading'
            WHEN s.leader_since IS NOT NULL THEN 'gone'
            WHEN s.last_seen_at > now() - interval '15 seconds'
                 AND EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = s.backend_pid)
                 THEN 'following'
            ELSE 'gone' END AS state,
       s.leader_since,
       s.last_tick_at,
       now() - s.last_tick_at AS last_tick_age,
       s.started_at,
       s.last_seen_at,
       s.stopped_at
FROM flowsync.schedulers s
ORDER BY s.leader_since IS NULL, s.last_seen_at DESC;
