-- Start an execution of a workflow (its latest version unless p_version): create its steps,
-- queue the roots, wake workers. With an idempotency key, a repeat returns the execution the
-- first call created (created = false), and a repeat with a different request is refused.
-- start_executions (start_executions.sql) starts many at once with the same rows and rules. It
-- is not used here: as a one-item batch it managed about 0.75x the starts/s of this function
-- (about 0.6x with an idempotency key). Both take the request hash from _request_hash.
--
-- Errors (SQLSTATE): FS001 unknown workflow, FS002 workflow archived, FS003 unknown version,
-- FS004 idempotency key reused with a different request.
CREATE OR REPLACE FUNCTION flowsync.start_execution_ex(
    p_workflow         text,
    p_input            jsonb DEFAULT '{}',
    p_idempotency_key  text DEFAULT NULL,
    p_version          integer DEFAULT NULL,
    p_now              timestamptz DEFAULT now()
) RETURNS TABLE (execution_id uuid, created boolean, version integer,
                status flowsync.execution_status)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_workflow  flowsync.workflows;
    v_version   integer;
    v_id        uuid;
    v_existing  flowsync.executions;
    v_steps     integer;
    v_queues    text[];
    v_request_hash text := flowsync._request_hash(p_input, p_version);
BEGIN
    SELECT * INTO v_workflow FROM flowsync.workflows w WHERE w.name = p_workflow;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'workflow "%" does not exist', p_workflow USING ERRCODE = 'FS001';
    END IF;

    IF p_idempotency_key IS NOT NULL THEN
        SELECT * INTO v_existing FROM flowsync.executions e
        WHERE e.workflow_id = v_workflow.id AND e.idempotency_key = p_idempotency_key;
        IF FOUND THEN
            IF v_existing.request_hash <> v_request_hash THEN
                RAISE EXCEPTION 'idempotency key "%" was already used with a different request',
                    p_idempotency_key USING ERRCODE = 'FS004';
            END IF;
            RETURN QUERY SELECT v_existing.id, false, v_existing.version, v_existing.status;
            RETURN;
        END IF;
    END IF;

    SELECT s.version, s.steps INTO v_version, v_steps
    FROM flowsync._version_to_start(v_workflow, p_version) s;

    INSERT INTO flowsync.executions AS e
        (workflow_id, version, input, idempotency_key, request_hash, steps_open, created_at)
    VALUES (v_workflow.id, v_version, coalesce(p_input, '{}'::jsonb), p_idempotency_key,
            v_request_hash, v_steps, p_now)
    ON CONFLICT (workflow_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING e.id INTO v_id;

    IF v_id IS NULL THEN
        -- A concurrent start with the same key won the race: answer as a repeat.
        RETURN QUERY SELECT * FROM flowsync.start_execution_ex(
            p_workflow, p_input, p_idempotency_key, p_version, p_now);
        RETURN;
    END IF;

    -- Steps for every node; the roots are queued and become jobs at once.
    WITH inserted AS (
        INSERT INTO flowsync.steps (execution_id, node_idx, node_id, status, queued_at, run_at)
        SELECT v_id, n.node_idx, n.node_id,
               CASE WHEN n.upstream_count = 0 THEN 'queued' ELSE 'pending' END::flowsync.step_status,
               CASE WHEN n.upstream_count = 0 THEN p_now END,
               CASE WHEN n.upstream_count = 0 THEN p_now END
        FROM flowsync.workflow_nodes n
        WHERE n.workflow_id = v_workflow.id AND n.version = v_version
        ORDER BY n.node_idx
        RETURNING id, node_idx, status
    ), jobs AS (
        INSERT INTO flowsync.jobs (step_id, queue, run_at)
        SELECT i.id, n.queue, p_now
        FROM inserted i
        CROSS JOIN LATERAL (  -- a key lookup per root, whatever the statistics say
            SELECT n.queue FROM flowsync.workflow_nodes n
            WHERE n.workflow_id = v_workflow.id AND n.version = v_version
              AND n.node_idx = i.node_idx
            OFFSET 0) n
        WHERE i.status = 'queued'
        RETURNING queue
    )
    SELECT array_agg(DISTINCT queue) INTO v_queues FROM jobs;

    -- Wake workers: once per queue (and Postgres folds repeats within a transaction).
    PERFORM flowsync._wake_workers(q, p_now) FROM unnest(v_queues) AS q;
    RETURN QUERY SELECT v_id, true, v_version, 'queued'::flowsync.execution_status;
END;
$$;

-- The public, in-database way to start an execution from another application's transaction:
--   SELECT flowsync.start_execution('order-paid', '{"order_id": 42}', idempotency_key => 'o-42');
-- It takes effect only if that transaction commits. Returns the execution id.
CREATE OR REPLACE FUNCTION flowsync.start_execution(
    workflow         text,
    input            jsonb DEFAULT '{}',
    idempotency_key  text DEFAULT NULL,
    version          integer DEFAULT NULL
) RETURNS uuid
LANGUAGE sql AS $$
    SELECT x.execution_id
    FROM flowsync.start_execution_ex(workflow, input, idempotency_key, version) x
$$;
