-- The execution engine: per-version plans, executions, steps, the hot job table, history, logs.
--
-- Step lifecycle (docs/state-machine.md has the full table):
--
--   pending ──▶ queued ──▶ running ──▶ succeeded | failed | dead
--      │          ▲          │  │
--      │          └──────────┘  └──▶ (retry, lease expiry, snooze, hand-back: back to queued)
--      └──▶ skipped | cancelled
--
-- Every change of a status column happens inside one of the functions in sql/functions.

CREATE TYPE flowsync.execution_status AS ENUM ('queued', 'running', 'succeeded', 'failed', 'cancelled');
CREATE TYPE flowsync.step_status AS ENUM
    ('pending', 'queued', 'running', 'succeeded', 'failed', 'skipped', 'cancelled', 'dead');
CREATE TYPE flowsync.join_rule AS ENUM ('all_success', 'one_success', 'all_done', 'none_failed');

-- The plan of a version: its nodes with every default resolved, and its edges. Written once,
-- with the version, by save_workflow_version; the engine reads only these, never the JSON.
CREATE TABLE flowsync.workflow_nodes (
    workflow_id         bigint  NOT NULL,
    version             integer NOT NULL,
    node_idx            integer NOT NULL,
    node_id             text    NOT NULL,
    type                text    NOT NULL,
    config              jsonb   NOT NULL,
    queue               text    NOT NULL,
    join_rule           flowsync.join_rule NOT NULL,
    timeout_ms          integer,
    max_attempts        integer NOT NULL,
    backoff             text    NOT NULL,
    backoff_initial_ms  integer NOT NULL,
    backoff_max_ms      integer NOT NULL,
    jitter              boolean NOT NULL,
    continue_on_failure boolean NOT NULL,
    upstream_count      integer NOT NULL,
    is_leaf             boolean NOT NULL,
    -- nodes whose outputs a step of this node sees in its context (upstream + referenced)
    context_nodes       integer[] NOT NULL,
    PRIMARY KEY (workflow_id, version, node_idx),
    FOREIGN KEY (workflow_id, version) REFERENCES flowsync.workflow_versions (workflow_id, version),
    CONSTRAINT workflow_nodes_node_id_key UNIQUE (workflow_id, version, node_id),
    CONSTRAINT workflow_nodes_max_attempts_chk CHECK (max_attempts BETWEEN 1 AND 100),
    CONSTRAINT workflow_nodes_backoff_chk CHECK (backoff IN ('exponential', 'fixed'))
);

CREATE TABLE flowsync.workflow_edges (
    workflow_id  bigint  NOT NULL,
    version      integer NOT NULL,
    from_idx     integer NOT NULL,
    to_idx       integer NOT NULL,
    when_value   jsonb,           -- the condition outcome this edge needs; NULL: any success
    PRIMARY KEY (workflow_id, version, from_idx, to_idx),
    FOREIGN KEY (workflow_id, version, from_idx)
        REFERENCES flowsync.workflow_nodes (workflow_id, version, node_idx),
    FOREIGN KEY (workflow_id, version, to_idx)
        REFERENCES flowsync.workflow_nodes (workflow_id, version, node_idx)
);

CREATE TABLE flowsync.executions (
    id               uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    workflow_id      bigint      NOT NULL,
    version          integer     NOT NULL,
    status           flowsync.execution_status NOT NULL DEFAULT 'queued',
    input            jsonb       NOT NULL DEFAULT '{}',
    output           jsonb,
    error            jsonb,
    idempotency_key  text,
    request_hash     text,
    steps_open       integer     NOT NULL,  -- steps not yet in a terminal state
    steps_failed     integer     NOT NULL DEFAULT 0,  -- failed/dead steps that fail the run
    created_at       timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    finished_at      timestamptz,
    FOREIGN KEY (workflow_id, version) REFERENCES flowsync.workflow_versions (workflow_id, version),
    CONSTRAINT executions_finished_chk
        CHECK ((status IN ('succeeded', 'failed', 'cancelled')) = (finished_at IS NOT NULL)),
    CONSTRAINT executions_started_chk CHECK (status = 'queued' OR started_at IS NOT NULL
                                             OR status = 'cancelled'),
    CONSTRAINT executions_counters_chk CHECK (steps_open >= 0 AND steps_failed >= 0),
    CONSTRAINT executions_idempotency_key_chk CHECK (length(idempotency_key) BETWEEN 1 AND 255)
);
CREATE UNIQUE INDEX executions_idempotency_key_idx
    ON flowsync.executions (workflow_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX executions_created_at_idx ON flowsync.executions (created_at DESC, id DESC);
CREATE INDEX executions_workflow_created_at_idx
    ON flowsync.executions (workflow_id, created_at DESC, id DESC);
CREATE INDEX executions_active_idx ON flowsync.executions (status, created_at)
    WHERE status IN ('queued', 'running');

CREATE TABLE flowsync.steps (
    id                bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    execution_id      uuid        NOT NULL REFERENCES flowsync.executions (id) ON DELETE CASCADE,
    node_idx          integer     NOT NULL,
    node_id           text        NOT NULL,
    status            flowsync.step_status NOT NULL DEFAULT 'pending',
    attempt           integer     NOT NULL DEFAULT 0,  -- attempts used of the current budget
    deps_succeeded    integer     NOT NULL DEFAULT 0,
    deps_failed       integer     NOT NULL DEFAULT 0,
    deps_skipped      integer     NOT NULL DEFAULT 0,
    outcome           jsonb,      -- a condition's outcome, matched against edges' when_value
    output            jsonb,
    error             jsonb,
    state             jsonb,      -- what a snoozed action keeps between runs (durable timers)
    lease_token       uuid,       -- fencing token; kept when its attempt reports, cleared when revoked
    lease_expires_at  timestamptz,
    worker_id         text,
    run_at            timestamptz,
    queued_at         timestamptz,
    started_at        timestamptz,
    finished_at       timestamptz,
    CONSTRAINT steps_execution_node_key UNIQUE (execution_id, node_idx),
    CONSTRAINT steps_running_lease_chk
        CHECK ((status = 'running') = (lease_expires_at IS NOT NULL AND lease_token IS NOT NULL)),
    CONSTRAINT steps_finished_chk
        CHECK ((status IN ('succeeded', 'failed', 'skipped', 'cancelled', 'dead'))
               = (finished_at IS NOT NULL)),
    CONSTRAINT steps_counters_chk
        CHECK (attempt >= 0 AND deps_succeeded >= 0 AND deps_failed >= 0 AND deps_skipped >= 0)
);
CREATE INDEX steps_lease_expires_at_idx ON flowsync.steps (lease_expires_at)
    WHERE status = 'running';
CREATE INDEX steps_running_worker_idx ON flowsync.steps (worker_id) WHERE status = 'running';
CREATE INDEX steps_dead_letters_idx ON flowsync.steps (finished_at DESC, id DESC)
    WHERE status IN ('failed', 'dead');

-- The hot table: one row per step that is ready now or at run_at. Claiming deletes the row,
-- so the table stays as small as the backlog. No foreign key: its check would cost every
-- insert a lookup, and the functions delete a step's job whenever they end the step.
CREATE TABLE flowsync.jobs (
    step_id  bigint      PRIMARY KEY,
    queue    text        NOT NULL,
    run_at   timestamptz NOT NULL
) WITH (
    autovacuum_vacuum_scale_factor = 0.0,
    autovacuum_vacuum_threshold = 5000,
    autovacuum_vacuum_insert_scale_factor = 0.0,
    autovacuum_vacuum_insert_threshold = 5000,
    autovacuum_analyze_scale_factor = 0.05
);
CREATE INDEX jobs_claim_idx ON flowsync.jobs (queue, run_at, step_id);

-- Attempts that did not end in success (retries, lost leases, failures, hand-backs) and
-- durable-timer snoozes. A successful attempt is described by the step row itself.
CREATE TABLE flowsync.step_attempts (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    step_id       bigint      NOT NULL REFERENCES flowsync.steps (id) ON DELETE CASCADE,
    execution_id  uuid        NOT NULL,
    attempt       integer     NOT NULL,
    outcome       text        NOT NULL,
    error         jsonb,
    worker_id     text,
    queued_at     timestamptz,
    started_at    timestamptz,
    ended_at      timestamptz NOT NULL,
    CONSTRAINT step_attempts_outcome_chk CHECK (outcome IN
        ('retry', 'lease_expired', 'failed', 'dead', 'snoozed', 'handed_back', 'cancelled'))
);
CREATE INDEX step_attempts_execution_idx ON flowsync.step_attempts (execution_id, id);

-- Things that happen to an execution as a whole beyond its lifecycle timestamps.
CREATE TABLE flowsync.execution_events (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    execution_id  uuid        NOT NULL REFERENCES flowsync.executions (id) ON DELETE CASCADE,
    at            timestamptz NOT NULL DEFAULT now(),
    kind          text        NOT NULL,
    detail        jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX execution_events_execution_idx ON flowsync.execution_events (execution_id, id);

CREATE TABLE flowsync.step_logs (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    execution_id  uuid        NOT NULL REFERENCES flowsync.executions (id) ON DELETE CASCADE,
    step_id       bigint      NOT NULL,
    attempt       integer     NOT NULL,
    at            timestamptz NOT NULL,
    level         text        NOT NULL,
    message       text        NOT NULL,
    fields        jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX step_logs_step_idx ON flowsync.step_logs (execution_id, step_id, id);

CREATE TABLE flowsync.workers (
    id            text        PRIMARY KEY,
    hostname      text        NOT NULL,
    pid           integer     NOT NULL,
    queues        text[]      NOT NULL,
    concurrency   integer     NOT NULL,
    started_at    timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    stopped_at    timestamptz
);

-- What claim_steps and report_steps hand a worker: one row per step to run, or (from
-- report_steps) one row per report saying how it was taken ('ok', 'stale', 'duplicate', ...).
CREATE TYPE flowsync.step_claim AS (
    result        text,
    step_id       bigint,
    execution_id  uuid,
    workflow      text,
    version       integer,
    node_id       text,
    node_type     text,
    config        jsonb,
    attempt       integer,
    max_attempts  integer,
    lease_token   uuid,
    timeout_ms    integer,
    input         jsonb,
    upstream      jsonb,
    state         jsonb
);
