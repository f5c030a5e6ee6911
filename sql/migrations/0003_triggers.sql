-- Triggers: what starts executions besides a direct call (webhooks, cron and interval
-- schedules, events, pgmq queues); the record of every fire, which is also the dedupe key;
-- and the inbox of emitted events.
--
--   webhook  POST /hooks/{hook_key}      dedupe key  delivery:<delivery id>  ─┐
--   cron     fire_due_cron_triggers      dedupe key  tick:<scheduled time>    ├─▶ fire_trigger:
--   event    emit_event → events inbox   dedupe key  event:<event id>         │   INSERT trigger_fires
--   pgmq     consume_pgmq_triggers       dedupe key  msg:<queue>:<msg id>    ─┘   + start_execution_ex,
--                                                                                 one transaction
-- A repeat of a dedupe key finds the fire row and answers with its execution; a fire whose
-- start failed (error set, no execution) is tried again by the next repeat.

CREATE TABLE flowsync.triggers (
    id             uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    workflow_id    bigint      NOT NULL REFERENCES flowsync.workflows (id),
    kind           text        NOT NULL,
    enabled        boolean     NOT NULL DEFAULT true,
    config         jsonb       NOT NULL DEFAULT '{}',  -- kind-specific, validated by the API
    input_mapping  text,                   -- CEL expression building the execution input
    hook_key       text,                   -- webhook: the unguessable token in /hooks/{hook_key}
    secret         text,                   -- webhook: HMAC secret or bearer token, as given
    event_type     text,                   -- event: an exact type, or a prefix pattern 'orders.*'
    next_fire_at   timestamptz,            -- cron: the earliest tick not yet handled
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT triggers_hook_key_key UNIQUE (hook_key),
    CONSTRAINT triggers_kind_chk CHECK (kind IN ('webhook', 'cron', 'event', 'pgmq')),
    CONSTRAINT triggers_config_chk CHECK (jsonb_typeof(config) = 'object'),
    CONSTRAINT triggers_webhook_chk
        CHECK ((kind = 'webhook') = (hook_key IS NOT NULL AND secret IS NOT NULL)),
    CONSTRAINT triggers_event_chk CHECK ((kind = 'event') = (event_type IS NOT NULL)),
    CONSTRAINT triggers_cron_chk CHECK ((kind = 'cron') = (next_fire_at IS NOT NULL)),
    CONSTRAINT triggers_input_mapping_chk CHECK (length(input_mapping) BETWEEN 1 AND 4096)
);
CREATE INDEX triggers_created_at_idx ON flowsync.triggers (created_at, id);
CREATE INDEX triggers_workflow_idx ON flowsync.triggers (workflow_id, created_at, id);
CREATE INDEX triggers_due_idx ON flowsync.triggers (next_fire_at) WHERE kind = 'cron' AND enabled;
CREATE INDEX triggers_event_type_idx ON flowsync.triggers (event_type)
    WHERE kind = 'event' AND enabled;

-- One row per fire. No foreign key to executions: retention may delete an execution before
-- the record that it was fired (and the check would cost every fire a lookup).
CREATE TABLE flowsync.trigger_fires (
    id             bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    trigger_id     uuid        NOT NULL REFERENCES flowsync.triggers (id) ON DELETE CASCADE,
    dedupe_key     text,                   -- NULL: a delivery without a delivery id
    scheduled_for  timestamptz,            -- cron: the tick this fire is for
    execution_id   uuid,
    error          text,                   -- why no execution was started
    fired_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT trigger_fires_dedupe_key UNIQUE (trigger_id, dedupe_key),
    CONSTRAINT trigger_fires_dedupe_key_chk CHECK (length(dedupe_key) BETWEEN 1 AND 210),
    CONSTRAINT trigger_fires_outcome_chk CHECK (execution_id IS NULL OR error IS NULL)
);
CREATE INDEX trigger_fires_fired_at_idx ON flowsync.trigger_fires (fired_at, id);
CREATE INDEX trigger_fires_trigger_idx ON flowsync.trigger_fires (trigger_id, fired_at DESC);

-- Events emitted by POST /events or flowsync.emit_event() (inside any transaction). The
-- scheduler (and the API, for its own posts) matches each pending event against the event
-- triggers once, then marks it processed; the id makes a repeated emit a no-op.
CREATE TABLE flowsync.events (
    id            text        PRIMARY KEY,
    type          text        NOT NULL,
    payload       jsonb       NOT NULL DEFAULT '{}',
    emitted_at    timestamptz NOT NULL DEFAULT now(),
    processed_at  timestamptz,
    CONSTRAINT events_id_chk CHECK (length(id) BETWEEN 1 AND 200),
    CONSTRAINT events_type_chk
        CHECK (length(type) <= 200 AND type ~ '^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$')
);
CREATE INDEX events_pending_idx ON flowsync.events (emitted_at, id) WHERE processed_at IS NULL;
CREATE INDEX events_processed_at_idx ON flowsync.events (processed_at)
    WHERE processed_at IS NOT NULL;

-- For people at a psql prompt: what each trigger fired, newest first.
CREATE VIEW flowsync.trigger_fire_history AS
SELECT f.fired_at,
       w.name AS workflow,
       t.kind,
       t.id AS trigger_id,
       f.dedupe_key,
       f.scheduled_for,
       f.execution_id,
       e.status AS execution_status,
       f.error
FROM flowsync.trigger_fires f
JOIN flowsync.triggers t ON t.id = f.trigger_id
JOIN flowsync.workflows w ON w.id = t.workflow_id
LEFT JOIN flowsync.executions e ON e.id = f.execution_id
ORDER BY f.fired_at DESC, f.id DESC;
