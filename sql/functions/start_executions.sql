-- Start many executions of one workflow in one call, set-based: the workflow is looked up once;
-- all executions, all their steps and all root jobs are inserted with one statement each; and
-- workers are woken once per queue. Each element of p_inputs (a JSON array) is one execution's
-- input, taken exactly as start_execution takes its input. Items are numbered from 1 in input
-- order (`ordinality`); one row per item comes back, in that order. The steps and jobs are the
-- rows that many start_execution calls would insert, numbered in input order.
--
-- Idempotency keys (optional; one per input, NULL for none) mean what they mean for
-- start_execution: a key already used with the same input (and version argument) answers that
-- execution with created = false; a key used with a different request is refused. Within one
-- batch the first item with a key starts the execution and later items with the same key and
-- input answer it (created = false); the same key with another input is refused. Concurrent
-- batches sharing keys start each keyed execution once: a batch that loses the race for a key
-- answers the winner's execution. Keyed rows are inserted in key order, so two batches never
-- wait for each other's keys in opposite orders (no deadlock between them). The batch is
-- atomic: an error leaves nothing behind.
--
-- Errors (SQLSTATE): FS001 unknown workflow; FS002 archived and FS003 unknown version, both only
-- when some item needs a new execution; FS004 an idempotency key reused with a different
-- request, DETAIL 'item <n>...' naming the first such item; FS005 p_inputs is not a JSON array,
-- or p_idempotency_keys does not have one entry per input.
--
-- Every statement is either positional (the per-item arrays are zipped by ROWS FROM, never
-- joined to each other) or an index lookup per item (_executions_by_key), so no plan, however
-- wrong its row estimates (a cached generic plan guesses 10 rows per array), can make a large
-- batch quadratic or read every keyed execution of the workflow.
CREATE OR REPLACE FUNCTION flowsync.start_executions_ex(
    p_workflow          text,
    p_inputs            jsonb,
    p_idempotency_keys  text[] DEFAULT NULL,
    p_version           integer DEFAULT NULL,
    p_now               timestamptz DEFAULT now()
) RETURNS TABLE (ordinality integer, execution_id uuid, created boolean, version integer,
                status flowsync.execution_status)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_workflow  flowsync.workflows;
    v_version   integer;
    v_steps     integer;
    -- Per item, numbered from 1 like the items:
    v_keys      text[];     -- its idempotency key (the whole array is NULL when none are given)
    v_hashes    text[];     -- what makes two starts "the same request"
    v_ids       uuid[];     -- the id of the execution it starts, NULL if it starts none
    v_planned   integer;
    v_inserted  integer;
    v_item      integer;
    v_first     integer;
    v_queues    text[];
BEGIN
    IF jsonb_typeof(p_inputs) IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION 'inputs must be a JSON array with one input per execution, not %',
            coalesce(jsonb_typeof(p_inputs), 'NULL') USING ERRCODE = 'FS005';
    END IF;
    IF p_idempotency_keys IS NOT NULL THEN
        IF array_ndims(p_idempotency_keys) > 1
           OR cardinality(p_idempotency_keys) <> jsonb_array_length(p_inputs) THEN
            RAISE EXCEPTION 'idempotency_keys must have one entry per input (NULL for none), '
                'not % for % inputs', cardinality(p_idempotency_keys),
                jsonb_array_length(p_inputs) USING ERRCODE = 'FS005';
        END IF;
        v_keys := ARRAY(SELECT k FROM unnest(p_idempotency_keys) k);  -- subscripts from 1
    END IF;

    SELECT * INTO v_workflow FROM flowsync.workflows w WHERE w.name = p_workflow;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'workflow "%" does not exist', p_workflow USING ERRCODE = 'FS001';
    END IF;

    v_hashes := ARRAY(
        SELECT flowsync._request_hash(i.input, p_version)
        FROM jsonb_array_elements(p_inputs) WITH ORDINALITY i(input, ord) ORDER BY i.ord);

    IF v_keys IS NULL THEN
        v_ids := ARRAY(SELECT gen_random_uuid() FROM generate_series(1, cardinality(v_hashes)));
    ELSE
        -- A new execution for each keyless item and for the first item of each key that no
        -- execution holds yet. Refused: the first item whose key an execution holds with
        -- another request (v_item), and the first whose key an earlier item gives another
        -- input (v_first).
        SELECT array_agg(CASE WHEN x.key IS NULL OR (x.ord = x.first_ord AND e.id IS NULL)
                              THEN gen_random_uuid() END ORDER BY x.ord),
               min(x.ord) FILTER (WHERE e.request_hash <> x.hash),
               min(x.ord) FILTER (WHERE x.key IS NOT NULL AND x.hash <> x.first_hash)
        INTO v_ids, v_item, v_first
        FROM (SELECT k.key, k.hash, k.ord,
                     first_value(k.ord) OVER w AS first_ord,
                     first_value(k.hash) OVER w AS first_hash
              FROM ROWS FROM (unnest(v_keys), unnest(v_hashes)) WITH ORDINALITY k(key, hash, ord)
              WINDOW w AS (PARTITION BY k.key ORDER BY k.ord)) x
        LEFT JOIN LATERAL flowsync._executions_by_key(v_workflow.id, x.key) e ON true;
        PERFORM flowsync._refuse_reused_key(v_keys, v_item, false);
        PERFORM flowsync._refuse_reused_key(v_keys, v_first, true);
    END IF;

    v_planned := cardinality(array_remove(v_ids, NULL));
    IF v_planned > 0 THEN
        SELECT s.version, s.steps INTO v_version, v_steps
        FROM flowsync._version_to_start(v_workflow, p_version) s;

        WITH inserted AS (
            INSERT INTO flowsync.executions AS e
                (id, workflow_id, version, input, idempotency_key, request_hash, steps_open,
                 created_at)
            SELECT x.id, v_workflow.id, v_version, x.input, x.key, x.hash, v_steps, p_now
            FROM ROWS FROM (jsonb_array_elements(p_inputs), unnest(v_ids), unnest(v_keys),
                            unnest(v_hashes)) WITH ORDINALITY x(input, id, key, hash, ord)
            WHERE x.id IS NOT NULL
            ORDER BY x.key COLLATE "C" NULLS LAST, x.ord
            ON CONFLICT (workflow_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
            RETURNING 1
        )
        SELECT count(*) INTO v_inserted FROM inserted;

        IF v_inserted < v_planned THEN
            -- Concurrent starts with some of these keys committed first. Those items answer the
            -- winners' executions (below), unless they were started with another request.
            v_ids := ARRAY(
                SELECT CASE WHEN EXISTS (SELECT FROM flowsync.executions e WHERE e.id = x.id)
                            THEN x.id END
                FROM unnest(v_ids) WITH ORDINALITY x(id, ord) ORDER BY x.ord);
            SELECT min(x.ord) INTO v_item
            FROM ROWS FROM (unnest(v_keys), unnest(v_hashes)) WITH ORDINALITY x(key, hash, ord)
            CROSS JOIN LATERAL flowsync._executions_by_key(v_workflow.id, x.key) e
            WHERE e.request_hash <> x.hash;
            PERFORM flowsync._refuse_reused_key(v_keys, v_item, false);
        END IF;

        -- Steps for every node of every new execution, in item then node order; the roots are
        -- queued and become jobs. The step ids are drawn here, in that order, so that jobs are
        -- inserted from the same rows rather than by joining the new steps back to their nodes.
        WITH nodes AS MATERIALIZED (
            SELECT n.node_idx, n.node_id, n.queue, n.upstream_count = 0 AS is_root
            FROM flowsync.workflow_nodes n
            WHERE n.workflow_id = v_workflow.id AND n.version = v_version
        ), new_steps AS MATERIALIZED (
            SELECT nextval('flowsync.steps_id_seq') AS step_id, x.id AS execution_id,
                   n.node_idx, n.node_id, n.queue, n.is_root
            FROM unnest(v_ids) WITH ORDINALITY x(id, ord)
            CROSS JOIN nodes n
            WHERE x.id IS NOT NULL
            ORDER BY x.ord, n.node_idx  -- nextval() is evaluated after the sort
        ), steps AS (
            INSERT INTO flowsync.steps
                (id, execution_id, node_idx, node_id, status, queued_at, run_at)
            OVERRIDING SYSTEM VALUE
            SELECT s.step_id, s.execution_id, s.node_idx, s.node_id,
                   CASE WHEN s.is_root THEN 'queued' ELSE 'pending' END::flowsync.step_status,
                   CASE WHEN s.is_root THEN p_now END,
                   CASE WHEN s.is_root THEN p_now END
            FROM new_steps s
        )
        , jobs AS (
            INSERT INTO flowsync.jobs (step_id, queue, run_at)
            SELECT s.step_id, s.queue, p_now FROM new_steps s WHERE s.is_root
            RETURNING queue
        )
        -- Wake workers: once per queue that got a job.
        SELECT array_agg(DISTINCT queue) INTO v_queues FROM jobs;
        PERFORM flowsync._wake_workers(q, p_now) FROM unnest(v_queues) AS q;
    END IF;

    IF v_keys IS NULL THEN
        RETURN QUERY
        SELECT x.ord::integer, x.id, true, v_version, 'queued'::flowsync.execution_status
        FROM unnest(v_ids) WITH ORDINALITY x(id, ord)
        ORDER BY x.ord;
    ELSE
        -- An item with a key answers the execution holding it: its own new one, the first
        -- item's, or one started before (created = false for all but its own).
        RETURN QUERY
        SELECT x.ord::integer, coalesce(x.id, e.id), x.id IS NOT NULL,
               CASE WHEN x.id IS NULL THEN e.version ELSE v_version END,
               CASE WHEN x.id IS NULL THEN e.status ELSE 'queued' END
        FROM ROWS FROM (unnest(v_ids), unnest(v_keys)) WITH ORDINALITY x(id, key, ord)
        LEFT JOIN LATERAL flowsync._executions_by_key(v_workflow.id, x.key) e ON x.id IS NULL
        ORDER BY x.ord;
    END IF;
END;
$$;

-- The execution of a workflow that holds an idempotency key, by the partial unique index: a
-- key lookup per call, whatever the statistics say (OFFSET 0 keeps the planner from turning
-- it into a join that reads every keyed execution of the workflow).
CREATE OR REPLACE FUNCTION flowsync._executions_by_key(p_workflow_id bigint, p_key text)
RETURNS SETOF flowsync.executions
LANGUAGE sql STABLE AS $$
    SELECT e.* FROM flowsync.executions e
    WHERE e.workflow_id = p_workflow_id AND e.idempotency_key = p_key
      AND e.idempotency_key IS NOT NULL
    OFFSET 0
$$;

-- FS004 for item p_item of a batch (nothing when it is NULL): its key is held by an execution
-- started with a different request, or (p_within_batch) given by an earlier item of the batch
-- with a different input.
CREATE OR REPLACE FUNCTION flowsync._refuse_reused_key(
    p_keys text[], p_item integer, p_within_batch boolean
) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF p_item IS NULL THEN
        RETURN;
    ELSIF p_within_batch THEN
        RAISE EXCEPTION 'idempotency key "%" is given to items with different inputs',
            p_keys[p_item] USING ERRCODE = 'FS004',
            DETAIL = format('item %s repeats the key of item %s with another input', p_item,
                            array_position(p_keys, p_keys[p_item]));
    ELSE
        RAISE EXCEPTION 'idempotency key "%" was already used with a different request',
            p_keys[p_item] USING ERRCODE = 'FS004', DETAIL = format('item %s', p_item);
    END IF;
END;
$$;

-- The public, in-database batch start (start_execution starts one):
--   SELECT * FROM flowsync.start_executions('order-paid', '[{"order_id": 42}, {"order_id": 43}]',
--                                           idempotency_keys => ARRAY['o-42', 'o-43']);
-- One row per input, in input order: its position (from 1), the execution's id, and whether
-- this call created it (false: an idempotency key answered an existing execution). Like
-- start_execution it takes effect only if the caller's transaction commits.
CREATE OR REPLACE FUNCTION flowsync.start_executions(
    workflow          text,
    inputs            jsonb,
    idempotency_keys  text[] DEFAULT NULL,
    version           integer DEFAULT NULL
) RETURNS TABLE (ordinality integer, execution_id uuid, created boolean)
LANGUAGE sql AS $$
    SELECT x.ordinality, x.execution_id, x.created
    FROM flowsync.start_executions_ex(workflow, inputs, idempotency_keys, version) x
    ORDER BY x.ordinality
$$;
