--
-- PostgreSQL database dump
--






SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET transaction_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: flowsync; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA flowsync;


--
-- Name: api_scope; Type: TYPE; Schema: flowsync; Owner: -
--

CREATE TYPE flowsync.api_scope AS ENUM (
    'admin',
    'write',
    'read'
);


--
-- Name: execution_status; Type: TYPE; Schema: flowsync; Owner: -
--

CREATE TYPE flowsync.execution_status AS ENUM (
    'queued',
    'running',
    'succeeded',
    'failed',
    'cancelled'
);


--
-- Name: join_rule; Type: TYPE; Schema: flowsync; Owner: -
--

CREATE TYPE flowsync.join_rule AS ENUM (
    'all_success',
    'one_success',
    'all_done',
    'none_failed'
);


--
-- Name: ready_steps; Type: TYPE; Schema: flowsync; Owner: -
--

CREATE TYPE flowsync.ready_steps AS (
	ids bigint[],
	queues text[]
);


--
-- Name: step_claim; Type: TYPE; Schema: flowsync; Owner: -
--

CREATE TYPE flowsync.step_claim AS (
	result text,
	step_id bigint,
	execution_id uuid,
	workflow text,
	version integer,
	node_id text,
	node_type text,
	config jsonb,
	attempt integer,
	max_attempts integer,
	lease_token uuid,
	timeout_ms integer,
	input jsonb,
	upstream jsonb,
	state jsonb
);


--
-- Name: step_status; Type: TYPE; Schema: flowsync; Owner: -
--

CREATE TYPE flowsync.step_status AS ENUM (
    'pending',
    'queued',
    'running',
    'succeeded',
    'failed',
    'skipped',
    'cancelled',
    'dead'
);


--
-- Name: _announce_workers(text[]); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync._announce_workers(p_queues text[]) RETURNS void
    LANGUAGE sql
    AS $$
    SELECT pg_notify('flowsync_jobs', q || ' workers') FROM unnest(p_queues) AS q
$$;


--
-- Name: _edge_counts(bigint[]); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync._edge_counts(p_upstream bigint[]) RETURNS TABLE(execution_id uuid, to_idx integer, ok integer, failed integer, skipped integer)
    LANGUAGE sql STABLE
    AS $$
    SELECT u.execution_id, e.to_idx,
           count(*) FILTER (WHERE u.status = 'succeeded'
                              AND (e.when_value IS NULL OR e.when_value = u.outcome))::int,
           count(*) FILTER (WHERE u.status IN ('failed', 'dead', 'cancelled'))::int,
           count(*) FILTER (WHERE u.status = 'skipped'
                              OR (u.status = 'succeeded' AND e.when_value IS NOT NULL
                                  AND e.when_value IS DISTINCT FROM u.outcome))::int
    -- Key lookups in this order, whatever the statistics say (see _step_claims): a planner
    -- left to itself may read every edge of the version for every upstream step.
    FROM unnest(p_upstream) AS f(id)
    CROSS JOIN LATERAL (SELECT * FROM flowsync.steps u WHERE u.id = f.id OFFSET 0) u
    CROSS JOIN LATERAL (
        SELECT x.workflow_id, x.version FROM flowsync.executions x
        WHERE x.id = u.execution_id OFFSET 0) x
    CROSS JOIN LATERAL (
        SELECT e.to_idx, e.when_value FROM flowsync.workflow_edges e
        WHERE e.workflow_id = x.workflow_id AND e.version = x.version AND e.from_idx = u.node_idx
        OFFSET 0) e
    GROUP BY u.execution_id, e.to_idx
$$;


--
-- Name: _enqueue(flowsync.ready_steps, timestamp with time zone); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync._enqueue(p_ready flowsync.ready_steps, p_now timestamp with time zone) RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF coalesce(cardinality(p_ready.ids), 0) = 0 THEN
        RETURN;
    END IF;
    INSERT INTO flowsync.jobs (step_id, queue, run_at)
    SELECT j.step_id, j.queue, p_now FROM unnest(p_ready.ids, p_ready.queues) AS j(step_id, queue);
    PERFORM flowsync._wake_workers(q.queue, p_now)
    FROM (SELECT DISTINCT unnest(p_ready.queues) AS queue) q;
END;
$$;


--
-- Name: _execution_error(uuid, bigint, integer); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync._execution_error(p_execution_id uuid, p_workflow_id bigint, p_version integer) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT jsonb_build_object(
               'message', format('%s step(s) failed', count(*)),
               'steps', jsonb_agg(jsonb_build_object(
                   'node_id', s.node_id, 'status', s.status, 'error', s.error) ORDER BY s.id))
    FROM flowsync.steps s
    JOIN flowsync.workflow_nodes n
      ON n.workflow_id = p_workflow_id AND n.version = p_version AND n.node_idx = s.node_idx
    WHERE s.execution_id = p_execution_id AND s.status IN ('failed', 'dead')
      AND NOT n.continue_on_failure
$$;


SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: executions; Type: TABLE; Schema: flowsync; Owner: -
--

CREATE TABLE flowsync.executions (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    workflow_id bigint NOT NULL,
    version integer NOT NULL,
    status flowsync.execution_status DEFAULT 'queued'::flowsync.execution_status NOT NULL,
    input jsonb DEFAULT '{}'::jsonb NOT NULL,
    output jsonb,
    error jsonb,
    idempotency_key text,
    request_hash text,
    steps_open integer NOT NULL,
    steps_failed integer DEFAULT 0 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    started_at timestamp with time zone,
    finished_at timestamp with time zone,
    CONSTRAINT executions_counters_chk CHECK (((steps_open >= 0) AND (steps_failed >= 0))),
    CONSTRAINT executions_finished_chk CHECK (((status = ANY (ARRAY['succeeded'::flowsync.execution_status, 'failed'::flowsync.execution_status, 'cancelled'::flowsync.execution_status])) = (finished_at IS NOT NULL))),
    CONSTRAINT executions_idempotency_key_chk CHECK (((length(idempotency_key) >= 1) AND (length(idempotency_key) <= 255))),
    CONSTRAINT executions_started_chk CHECK (((status = 'queued'::flowsync.execution_status) OR (started_at IS NOT NULL) OR (status = 'cancelled'::flowsync.execution_status)))
)
WITH (fillfactor='30');


--
-- Name: _executions_by_key(bigint, text); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync._executions_by_key(p_workflow_id bigint, p_key text) RETURNS SETOF flowsync.executions
    LANGUAGE sql STABLE
    AS $$
    SELECT e.* FROM flowsync.executions e
    WHERE e.workflow_id = p_workflow_id AND e.idempotency_key = p_key
      AND e.idempotency_key IS NOT NULL
    OFFSET 0
$$;


--
-- Name: steps; Type: TABLE; Schema: flowsync; Owner: -
--

CREATE TABLE flowsync.steps (
    id bigint NOT NULL,
    execution_id uuid NOT NULL,
    node_idx integer NOT NULL,
    node_id text NOT NULL,
    status flowsync.step_status DEFAULT 'pending'::flowsync.step_status NOT NULL,
    attempt integer DEFAULT 0 NOT NULL,
    deps_succeeded integer DEFAULT 0 NOT NULL,
    deps_failed integer DEFAULT 0 NOT NULL,
    deps_skipped integer DEFAULT 0 NOT NULL,
    outcome jsonb,
    output jsonb,
    error jsonb,
    state jsonb,
    lease_token uuid,
    worker_id text,
    run_at timestamp with time zone,
    queued_at timestamp with time zone,
    started_at timestamp with time zone,
    finished_at timestamp with time zone,
    dead_lettered_at timestamp with time zone,
    CONSTRAINT steps_counters_chk CHECK (((attempt >= 0) AND (deps_succeeded >= 0) AND (deps_failed >= 0) AND (deps_skipped >= 0))),
    CONSTRAINT steps_dead_lettered_chk CHECK (((status = ANY (ARRAY['failed'::flowsync.step_status, 'dead'::flowsync.step_status])) = (dead_lettered_at IS NOT NULL))),
    CONSTRAINT steps_finished_chk CHECK (((status = ANY (ARRAY['succeeded'::flowsync.step_status, 'failed'::flowsync.step_status, 'skipped'::flowsync.step_status, 'cancelled'::flowsync.step_status, 'dead'::flowsync.step_status])) = (finished_at IS NOT NULL))),
    CONSTRAINT steps_running_lease_chk CHECK (((status <> 'running'::flowsync.step_status) OR ((lease_token IS NOT NULL) AND (worker_id IS NOT NULL))))
)
WITH (fillfactor='30');


--
-- Name: _fail_attempt(flowsync.steps, jsonb, boolean, bigint, text, boolean, timestamp with time zone); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync._fail_attempt(p_step flowsync.steps, p_error jsonb, p_retryable boolean, p_retry_after_ms bigint, p_retry_outcome text, p_revoke boolean, p_now timestamp with time zone) RETURNS boolean
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_node   flowsync.workflow_nodes;
    v_retry  boolean;
    v_run_at timestamptz;
BEGIN
    v_node := flowsync._step_node(p_step);
    v_retry := p_retryable AND p_step.attempt < v_node.max_attempts;
    PERFORM flowsync._record_attempts(
        ARRAY[p_step.id],
        CASE WHEN v_retry THEN p_retry_outcome WHEN p_retryable THEN 'dead' ELSE 'failed' END,
        p_error, p_now);

    IF v_retry THEN
        v_run_at := p_now + flowsync._retry_delay(
            v_node.backoff, v_node.backoff_initial_ms, v_node.backoff_max_ms,
            v_node.jitter, p_step.attempt, p_retry_after_ms);
        UPDATE flowsync.steps s
        SET status = 'queued', error = p_error,
            lease_token = CASE WHEN p_revoke THEN NULL ELSE s.lease_token END,
            run_at = v_run_at, queued_at = p_now
        WHERE s.id = p_step.id;
        INSERT INTO flowsync.jobs (step_id, queue, run_at) VALUES (p_step.id, v_node.queue, v_run_at);
    ELSE
        UPDATE flowsync.steps s
        SET status = CASE WHEN p_retryable THEN 'dead' ELSE 'failed' END::flowsync.step_status,
            error = p_error,
            lease_token = CASE WHEN p_revoke THEN NULL ELSE s.lease_token END,
            finished_at = p_now, dead_lettered_at = p_now
        WHERE s.id = p_step.id;
    END IF;
    RETURN v_retry;
END;
$$;


--
-- Name: _join_decision(flowsync.join_rule, integer, integer, integer, integer); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync._join_decision(p_rule flowsync.join_rule, p_total integer, p_succeeded integer, p_failed integer, p_skipped integer) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT CASE
        WHEN p_total = 0 THEN 'run'
        WHEN p_rule = 'all_success' THEN
            CASE WHEN p_failed + p_skipped > 0 THEN 'skip'
                 WHEN p_succeeded = p_total THEN 'run' ELSE 'wait' END
        WHEN p_rule = 'one_success' THEN
            CASE WHEN p_succeeded > 0 THEN 'run'
                 WHEN p_failed + p_skipped = p_total THEN 'skip' ELSE 'wait' END
        WHEN p_rule = 'all_done' THEN
            CASE WHEN p_succeeded + p_failed + p_skipped = p_total THEN 'run' ELSE 'wait' END
        -- none_failed: no upstream failed and at least one succeeded (all skipped: skip on)
        ELSE
            CASE WHEN p_failed > 0 THEN 'skip'
                 WHEN p_succeeded + p_skipped < p_total THEN 'wait'
                 WHEN p_succeeded > 0 THEN 'run' ELSE 'skip' END
    END
$$;


--
-- Name: _notify_jobs(bigint[]); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync._notify_jobs(p_step_ids bigint[]) RETURNS void
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_row record;
BEGIN
    IF coalesce(cardinality(p_step_ids), 0) = 0 THEN
        RETURN;
    END IF;
    FOR v_row IN
        SELECT j.queue, min(j.run_at) AS run_at FROM flowsync.jobs j
        WHERE j.step_id = ANY (p_step_ids) GROUP BY j.queue
    LOOP
        PERFORM flowsync._wake_workers(v_row.queue, v_row.run_at);
    END LOOP;
END;
$$;


--
-- Name: _ready(bigint[]); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync._ready(p_step_ids bigint[]) RETURNS flowsync.ready_steps
    LANGUAGE sql STABLE
    AS $$
    SELECT ROW(coalesce(array_agg(s.id ORDER BY s.id), '{}'),
               coalesce(array_agg((flowsync._step_node(s)).queue ORDER BY s.id), '{}')
           )::flowsync.ready_steps
    FROM unnest(p_step_ids) AS q(id)
    CROSS JOIN LATERAL (  -- (a key lookup, whatever the statistics say)
        SELECT * FROM flowsync.steps s WHERE s.id = q.id OFFSET 0) s
$$;


--
-- Name: _record_attempts(bigint[], text, jsonb, timestamp with time zone); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync._record_attempts(p_step_ids bigint[], p_outcome text, p_error jsonb, p_now timestamp with time zone) RETURNS void
    LANGUAGE sql
    AS $$
    INSERT INTO flowsync.step_attempts
        (step_id, execution_id, attempt, outcome, error, worker_id, queued_at, started_at, ended_at)
    SELECT s.id, s.execution_id, s.attempt, p_outcome, p_error, s.worker_id, s.queued_at,
           s.started_at, p_now
    FROM flowsync.steps s WHERE s.id = ANY (p_step_ids)
$$;


--
-- Name: _refuse_reused_key(text[], integer, boolean); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync._refuse_reused_key(p_keys text[], p_item integer, p_within_batch boolean) RETURNS void
    LANGUAGE plpgsql
    AS $$
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


--
-- Name: _request_hash(jsonb, integer); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync._request_hash(p_input jsonb, p_version integer) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$
    SELECT md5(coalesce(p_input, '{}'::jsonb)::text || '@' || coalesce(p_version::text, 'latest'))
$$;


--
-- Name: _retry_delay(text, integer, integer, boolean, integer, bigint); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync._retry_delay(p_backoff text, p_initial_ms integer, p_max_ms integer, p_jitter boolean, p_attempt integer, p_retry_after_ms bigint DEFAULT NULL::bigint) RETURNS interval
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_ms double precision;
BEGIN
    IF p_backoff = 'fixed' THEN
        v_ms := p_initial_ms;
    ELSE
        v_ms := least(p_max_ms::double precision,
                      p_initial_ms * power(2::double precision, least(greatest(p_attempt, 1) - 1, 40)));
    END IF;
    IF p_jitter THEN
        v_ms := v_ms * (0.5 + random() / 2);
    END IF;
    v_ms := greatest(v_ms, coalesce(p_retry_after_ms, 0)::double precision);
    RETURN make_interval(secs => v_ms / 1000.0);
END;
$$;


--
-- Name: _settle(bigint[], timestamp with time zone, text, text[], integer, integer); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync._settle(p_terminal bigint[], p_now timestamp with time zone, p_worker text DEFAULT NULL::text, p_queues text[] DEFAULT '{}'::text[], p_limit integer DEFAULT 0, p_lease_ms integer DEFAULT 0) RETURNS SETOF flowsync.step_claim
    LANGUAGE plpgsql
    AS $_$
DECLARE
    v_frontier   bigint[] := p_terminal;
    v_room       integer := CASE WHEN p_worker IS NULL THEN 0 ELSE greatest(p_limit, 0) END;
    v_leased     bigint[] := '{}';
    v_queued     bigint[] := '{}';
    v_queues     text[] := '{}';
    v_new_leased bigint[];
    v_new_queued bigint[];
    v_new_queues text[];
BEGIN
    WHILE coalesce(cardinality(v_frontier), 0) > 0 LOOP
        -- In one statement: add the frontier's edges to their dependents' counters and decide
        -- each dependent by its join rule (pending -> running under a lease for p_worker,
        -- queued, skipped, or still pending), and count the frontier as closed in its
        -- execution, which finishes when no open step is left: succeeded, or failed when a
        -- step failed for good (failed/dead and not continue_on_failure). (The statement's
        -- parts read the rows as they were before it; none reads a row another one writes.)
        WITH decided AS (
            UPDATE flowsync.steps d
            SET deps_succeeded = p.succeeded, deps_failed = p.failed, deps_skipped = p.skipped,
                status = CASE WHEN p.lease THEN 'running'::flowsync.step_status
                              WHEN p.decision = 'run' THEN 'queued'::flowsync.step_status
                              WHEN p.decision = 'skip' THEN 'skipped'::flowsync.step_status
                              ELSE d.status END,
                queued_at = CASE WHEN p.decision = 'run' THEN p_now ELSE d.queued_at END,
                run_at = CASE WHEN p.decision = 'run' THEN p_now ELSE d.run_at END,
                finished_at = CASE WHEN p.decision = 'skip' THEN p_now ELSE d.finished_at END,
                attempt = CASE WHEN p.lease THEN d.attempt + 1 ELSE d.attempt END,
                lease_token = CASE WHEN p.lease THEN gen_random_uuid() ELSE d.lease_token END,
                worker_id = CASE WHEN p.lease THEN p_worker ELSE d.worker_id END,
                started_at = CASE WHEN p.lease THEN p_now ELSE d.started_at END
            FROM (
                SELECT p.*,
                       p.decision = 'run' AND p.queue = ANY (p_queues)
                       AND row_number() OVER (PARTITION BY p.decision = 'run'
                                                           AND p.queue = ANY (p_queues)
                                              ORDER BY p.id) <= v_room AS lease
                FROM (
                    SELECT t.id, t.succeeded, t.failed, t.skipped, n.queue,
                           flowsync._join_decision(n.join_rule, n.upstream_count, t.succeeded,
                                                   t.failed, t.skipped) AS decision
                    FROM flowsync._edge_counts(v_frontier) c
                    -- (key lookups in this order, whatever the statistics say: see
                    -- _step_claims; the caller holds the execution's lock, so the counters
                    -- read here are the ones this statement updates)
                    CROSS JOIN LATERAL (
                        SELECT t.id, t.deps_succeeded + c.ok AS succeeded,
                               t.deps_failed + c.failed AS failed,
                               t.deps_skipped + c.skipped AS skipped
                        FROM flowsync.steps t
                        WHERE t.execution_id = c.execution_id AND t.node_idx = c.to_idx
                          AND t.status = 'pending'
                        OFFSET 0) t
                    CROSS JOIN LATERAL (
                        SELECT x.workflow_id, x.version FROM flowsync.executions x
                        WHERE x.id = c.execution_id OFFSET 0) x
                    CROSS JOIN LATERAL (
                        SELECT n.join_rule, n.upstream_count, n.queue
                        FROM flowsync.workflow_nodes n
                        WHERE n.workflow_id = x.workflow_id AND n.version = x.version
                          AND n.node_idx = c.to_idx
                        OFFSET 0) n
                ) p
            ) p
            WHERE d.id = p.id
            RETURNING d.id, d.status, p.queue
        ), held AS (
            INSERT INTO flowsync.leases (step_id, worker_id, expires_at)
            SELECT d.id, p_worker, p_now + make_interval(secs => p_lease_ms / 1000.0)
            FROM decided d WHERE d.status = 'running'
        ), closed AS (
            UPDATE flowsync.executions e
            SET steps_open = e.steps_open - c.closed,
                steps_failed = e.steps_failed + c.failed,
                status = CASE WHEN e.steps_open > c.closed THEN e.status
                              WHEN e.steps_failed + c.failed > 0
                                  THEN 'failed'::flowsync.execution_status
                              ELSE 'succeeded'::flowsync.execution_status END,
                finished_at = CASE WHEN e.steps_open = c.closed THEN p_now END,
                -- (an inline subquery: a function call per finishing execution costs more)
                output = CASE WHEN e.steps_open = c.closed AND e.steps_failed + c.failed = 0 THEN (
                    SELECT CASE WHEN bool_or(s.node_id = '$output')
                                THEN jsonb_object_agg(s.node_id, s.output) -> '$output'
                                ELSE coalesce(jsonb_object_agg(s.node_id, s.output), '{}'::jsonb)
                           END
                    -- (the version's leaves: workflow_nodes_leaves_idx)
                    FROM flowsync.workflow_nodes n
                    CROSS JOIN LATERAL (  -- (a key lookup per leaf, whatever the statistics say)
                        SELECT s.node_id, s.output FROM flowsync.steps s
                        WHERE s.execution_id = e.id AND s.node_idx = n.node_idx
                          AND s.status = 'succeeded'
                        OFFSET 0) s
                    WHERE n.workflow_id = e.workflow_id AND n.version = e.version AND n.is_leaf)
                END,
                error = CASE WHEN e.steps_open = c.closed AND e.steps_failed + c.failed > 0
                             THEN flowsync._execution_error(e.id, e.workflow_id, e.version) END
            FROM (
                SELECT s.execution_id,
                       count(*)::int AS closed,
                       -- (the node is read only for a step that failed: rare)
                       (count(*) FILTER (WHERE CASE WHEN s.status IN ('failed', 'dead')
                                                    THEN NOT (flowsync._step_node(s)).continue_on_failure
                                                    ELSE false END))::int AS failed
                FROM unnest(v_frontier) AS c(id)
                CROSS JOIN LATERAL (  -- (a key lookup, whatever the statistics say)
                    SELECT s.* FROM flowsync.steps s WHERE s.id = c.id OFFSET 0) s
                GROUP BY s.execution_id
            ) c
            WHERE e.id = c.execution_id
        )
        SELECT coalesce(array_agg(d.id) FILTER (WHERE d.status = 'running'), '{}'),
               coalesce(array_agg(d.id ORDER BY d.id) FILTER (WHERE d.status = 'queued'), '{}'),
               coalesce(array_agg(d.queue ORDER BY d.id) FILTER (WHERE d.status = 'queued'), '{}'),
               coalesce(array_agg(d.id) FILTER (WHERE d.status = 'skipped'), '{}')
        INTO v_new_leased, v_new_queued, v_new_queues, v_frontier
        FROM decided d;

        v_leased := v_leased || v_new_leased;
        v_room := v_room - cardinality(v_new_leased);
        v_queued := v_queued || v_new_queued;
        v_queues := v_queues || v_new_queues;
    END LOOP;

    IF cardinality(v_queued) > 0 THEN
        PERFORM flowsync._enqueue(ROW(v_queued, v_queues)::flowsync.ready_steps, p_now);
    END IF;
    IF cardinality(v_leased) > 0 THEN
        RETURN QUERY SELECT * FROM flowsync._step_claims(v_leased);
    END IF;
END;
$_$;


--
-- Name: _step_claims(bigint[]); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync._step_claims(p_step_ids bigint[]) RETURNS SETOF flowsync.step_claim
    LANGUAGE sql STABLE
    AS $$
    SELECT 'claimed'::text, s.id, s.execution_id, w.name, e.version, s.node_id, n.type, n.config,
           s.attempt, n.max_attempts, s.lease_token, n.timeout_ms, e.input,
           CASE WHEN cardinality(n.context_nodes) = 0 THEN '{}'::jsonb ELSE (
               SELECT coalesce(jsonb_object_agg(u.node_id, jsonb_build_object('output', u.output)),
                               '{}'::jsonb)
               FROM unnest(n.context_nodes) AS c(node_idx)
               CROSS JOIN LATERAL (
                   SELECT x.node_id, x.output FROM flowsync.steps x
                   WHERE x.execution_id = s.execution_id AND x.node_idx = c.node_idx
                     AND x.status = 'succeeded'
                   OFFSET 0  -- one unique-key lookup per node, whatever the statistics say
               ) u) END,
           s.state
    -- (a LATERAL subquery with OFFSET 0 is one index lookup per outer row that the planner
    -- cannot reorder)
    FROM unnest(p_step_ids) AS q(id)
    CROSS JOIN LATERAL (SELECT * FROM flowsync.steps s WHERE s.id = q.id OFFSET 0) s
    CROSS JOIN LATERAL (
        SELECT * FROM flowsync.executions e WHERE e.id = s.execution_id OFFSET 0) e
    CROSS JOIN LATERAL (
        SELECT w.name FROM flowsync.workflows w WHERE w.id = e.workflow_id OFFSET 0) w
    CROSS JOIN LATERAL (
        SELECT * FROM flowsync.workflow_nodes n
        WHERE n.workflow_id = e.workflow_id AND n.version = e.version AND n.node_idx = s.node_idx
        OFFSET 0) n
    ORDER BY s.id
$$;


--
-- Name: workflow_nodes; Type: TABLE; Schema: flowsync; Owner: -
--

CREATE TABLE flowsync.workflow_nodes (
    workflow_id bigint NOT NULL,
    version integer NOT NULL,
    node_idx integer NOT NULL,
    node_id text NOT NULL,
    type text NOT NULL,
    config jsonb NOT NULL,
    queue text NOT NULL,
    join_rule flowsync.join_rule NOT NULL,
    timeout_ms integer,
    max_attempts integer NOT NULL,
    backoff text NOT NULL,
    backoff_initial_ms integer NOT NULL,
    backoff_max_ms integer NOT NULL,
    jitter boolean NOT NULL,
    continue_on_failure boolean NOT NULL,
    upstream_count integer NOT NULL,
    is_leaf boolean NOT NULL,
    context_nodes integer[] NOT NULL,
    CONSTRAINT workflow_nodes_backoff_chk CHECK ((backoff = ANY (ARRAY['exponential'::text, 'fixed'::text]))),
    CONSTRAINT workflow_nodes_max_attempts_chk CHECK (((max_attempts >= 1) AND (max_attempts <= 100)))
);


--
-- Name: _step_node(flowsync.steps); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync._step_node(p_step flowsync.steps) RETURNS flowsync.workflow_nodes
    LANGUAGE sql STABLE
    AS $$
    SELECT n.* FROM flowsync.executions e
    JOIN flowsync.workflow_nodes n
      ON n.workflow_id = e.workflow_id AND n.version = e.version AND n.node_idx = p_step.node_idx
    WHERE e.id = p_step.execution_id
$$;


--
-- Name: workflows; Type: TABLE; Schema: flowsync; Owner: -
--

CREATE TABLE flowsync.workflows (
    id bigint NOT NULL,
    name text NOT NULL,
    latest_version integer DEFAULT 0 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    archived_at timestamp with time zone,
    CONSTRAINT workflows_latest_version_chk CHECK ((latest_version >= 0)),
    CONSTRAINT workflows_name_chk CHECK ((name ~ '^[a-z0-9][a-z0-9_.-]{0,99}$'::text))
);


--
-- Name: _version_to_start(flowsync.workflows, integer); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync._version_to_start(p_workflow flowsync.workflows, p_version integer, OUT version integer, OUT steps integer) RETURNS record
    LANGUAGE plpgsql STABLE
    AS $$
BEGIN
    IF p_workflow.archived_at IS NOT NULL THEN
        RAISE EXCEPTION 'workflow "%" is archived; restore it to start executions', p_workflow.name
            USING ERRCODE = 'FS002';
    END IF;
    version := coalesce(p_version, p_workflow.latest_version);
    SELECT count(*) INTO steps FROM flowsync.workflow_nodes n
    WHERE n.workflow_id = p_workflow.id AND n.version = _version_to_start.version;
    IF steps = 0 THEN
        RAISE EXCEPTION 'workflow "%" has no version %', p_workflow.name, version
            USING ERRCODE = 'FS003';
    END IF;
END;
$$;


--
-- Name: _wake_workers(text, timestamp with time zone); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync._wake_workers(p_queue text, p_run_at timestamp with time zone) RETURNS void
    LANGUAGE sql
    AS $$
    SELECT pg_notify('flowsync_jobs',
                     p_queue || ' ' || floor(extract(epoch FROM p_run_at) * 1000)::bigint)
$$;


--
-- Name: authenticate_api_key(bytea, timestamp with time zone); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync.authenticate_api_key(p_key_hash bytea, p_now timestamp with time zone DEFAULT now()) RETURNS TABLE(id uuid, scopes flowsync.api_scope[])
    LANGUAGE plpgsql
    AS $$
BEGIN
    UPDATE flowsync.api_keys k SET last_used_at = p_now
    WHERE k.key_hash = p_key_hash AND k.revoked_at IS NULL
      AND (k.last_used_at IS NULL OR k.last_used_at < p_now - interval '1 minute');

    RETURN QUERY
    SELECT k.id, k.scopes FROM flowsync.api_keys k
    WHERE k.key_hash = p_key_hash AND k.revoked_at IS NULL;
END;
$$;


--
-- Name: cancel_execution(uuid, text, text, timestamp with time zone); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync.cancel_execution(p_execution_id uuid, p_reason text DEFAULT NULL::text, p_actor text DEFAULT NULL::text, p_now timestamp with time zone DEFAULT now()) RETURNS text
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_status    flowsync.execution_status;
    v_cancelled bigint[];
BEGIN
    SELECT e.status INTO v_status FROM flowsync.executions e WHERE e.id = p_execution_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 'not_found';
    ELSIF v_status NOT IN ('queued', 'running') THEN
        RETURN 'already_' || v_status::text;
    END IF;

    PERFORM flowsync._record_attempts(
        ARRAY(SELECT s.id FROM flowsync.steps s
              WHERE s.execution_id = p_execution_id AND s.status = 'running'),
        'cancelled', NULL, p_now);

    WITH cancelled AS (
        UPDATE flowsync.steps s
        SET status = 'cancelled', lease_token = NULL, finished_at = p_now
        WHERE s.execution_id = p_execution_id AND s.status IN ('pending', 'queued', 'running')
        RETURNING s.id
    )
    SELECT array_agg(id) INTO v_cancelled FROM cancelled;
    DELETE FROM flowsync.leases l WHERE l.step_id = ANY (v_cancelled);

    -- Their jobs. After the steps (a step handed back meanwhile is cancelled too, and its
    -- new job seen here); SKIP LOCKED: a job a claimer holds is either deleted by that claim,
    -- which then finds the step cancelled and leases nothing, or left (a claim locks up to
    -- its limit per queue but takes its limit in all): the next claim deletes it the same way.
    DELETE FROM flowsync.jobs j
    WHERE j.step_id IN (SELECT k.step_id FROM flowsync.jobs k
                        WHERE k.step_id = ANY (v_cancelled)
                        FOR UPDATE SKIP LOCKED);

    UPDATE flowsync.executions e
    SET status = 'cancelled', finished_at = p_now, steps_open = 0,
        error = jsonb_build_object('message', 'cancelled', 'reason', p_reason)
    WHERE e.id = p_execution_id;

    INSERT INTO flowsync.execution_events (execution_id, at, kind, detail)
    VALUES (p_execution_id, p_now, 'cancelled',
            jsonb_strip_nulls(jsonb_build_object('reason', p_reason, 'actor', p_actor)));
    RETURN 'cancelled';
END;
$$;


--
-- Name: claim_steps(text, text[], integer, integer, timestamp with time zone); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync.claim_steps(p_worker text, p_queues text[], p_limit integer, p_lease_ms integer, p_now timestamp with time zone DEFAULT now()) RETURNS SETOF flowsync.step_claim
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_ids bigint[];
BEGIN
    -- Per queue, an ordered scan of jobs_claim_idx that stops after p_limit rows (an
    -- `= ANY` over all queues would read and sort the whole backlog instead).
    WITH candidates AS (
        SELECT c.step_id, c.run_at
        FROM unnest(p_queues) AS q(queue)
        CROSS JOIN LATERAL (
            SELECT j.step_id, j.run_at FROM flowsync.jobs j
            WHERE j.queue = q.queue AND j.run_at <= p_now
            ORDER BY j.run_at, j.step_id
            LIMIT p_limit
            FOR UPDATE SKIP LOCKED
        ) c
        ORDER BY c.run_at, c.step_id
        LIMIT p_limit
    ), picked AS (
        DELETE FROM flowsync.jobs j USING candidates c
        WHERE j.step_id = c.step_id
        RETURNING j.step_id
    )
    SELECT array_agg(step_id ORDER BY step_id) INTO v_ids FROM picked;

    IF v_ids IS NULL THEN
        RETURN;
    END IF;

    -- An execution starts running with its first step. Start the queued ones among these
    -- before leasing any step: executions are locked before steps (in id order), as by
    -- cancel_execution and every function that locks both, so none can deadlock another.
    -- (The sorted ids drive one key lookup each, so the rows are locked in id order.)
    UPDATE flowsync.executions e SET status = 'running', started_at = p_now
    FROM (
        SELECT DISTINCT s.execution_id AS id FROM unnest(v_ids) AS q(id)
        CROSS JOIN LATERAL (
            SELECT s.execution_id FROM flowsync.steps s WHERE s.id = q.id OFFSET 0) s
        ORDER BY 1 OFFSET 0
    ) l
    WHERE e.id = l.id AND e.status = 'queued';

    -- queued -> running under a new lease for p_worker (a new token, and a row in leases).
    WITH leased AS (
        UPDATE flowsync.steps s
        SET status = 'running', attempt = s.attempt + 1, lease_token = gen_random_uuid(),
            worker_id = p_worker, started_at = p_now
        WHERE s.id = ANY (v_ids) AND s.status = 'queued'
        RETURNING s.id
    ), held AS (
        INSERT INTO flowsync.leases (step_id, worker_id, expires_at)
        SELECT l.id, p_worker, p_now + make_interval(secs => p_lease_ms / 1000.0) FROM leased l
    )
    SELECT array_agg(l.id ORDER BY l.id) INTO v_ids FROM leased l;

    RETURN QUERY SELECT * FROM flowsync._step_claims(v_ids);
END;
$$;


--
-- Name: complete_step(bigint, uuid, jsonb, jsonb, timestamp with time zone); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync.complete_step(p_step_id bigint, p_token uuid, p_output jsonb DEFAULT NULL::jsonb, p_outcome jsonb DEFAULT NULL::jsonb, p_now timestamp with time zone DEFAULT now()) RETURNS text
    LANGUAGE sql
    AS $$
    SELECT c.result FROM flowsync.report_steps(
        NULL, jsonb_build_array(jsonb_build_object(
            'step_id', p_step_id, 'token', p_token, 'kind', 'succeeded',
            'output', p_output, 'outcome', p_outcome)),
        '{}', 0, 0, p_now) c
    WHERE c.result <> 'claimed'
$$;


--
-- Name: create_api_key(bytea, text, flowsync.api_scope[], text, uuid); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync.create_api_key(p_key_hash bytea, p_prefix text, p_scopes flowsync.api_scope[], p_name text DEFAULT ''::text, p_actor uuid DEFAULT NULL::uuid) RETURNS uuid
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_id uuid;
BEGIN
    INSERT INTO flowsync.api_keys (name, prefix, key_hash, scopes)
    VALUES (p_name, p_prefix, p_key_hash, p_scopes)
    RETURNING id INTO v_id;

    INSERT INTO flowsync.audit_log (actor, action, subject, details)
    VALUES (p_actor, 'api_key.created', 'api_key:' || v_id,
            jsonb_build_object('name', p_name, 'scopes', to_jsonb(p_scopes)));
    RETURN v_id;
END;
$$;


--
-- Name: emit_event(text, jsonb, text); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync.emit_event(type text, payload jsonb DEFAULT '{}'::jsonb, id text DEFAULT NULL::text) RETURNS text
    LANGUAGE sql
    AS $_$
    SELECT x.event_id FROM flowsync.emit_event_ex($1, $2, $3) x
$_$;


--
-- Name: emit_event_ex(text, jsonb, text, timestamp with time zone); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync.emit_event_ex(p_type text, p_payload jsonb DEFAULT '{}'::jsonb, p_id text DEFAULT NULL::text, p_now timestamp with time zone DEFAULT now()) RETURNS TABLE(event_id text, created boolean)
    LANGUAGE plpgsql
    AS $_$
DECLARE
    v_id     text := coalesce(p_id, gen_random_uuid()::text);
    v_count  integer;
BEGIN
    IF p_type IS NULL OR length(p_type) > 200
       OR p_type !~ '^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$' THEN
        RAISE EXCEPTION 'invalid event type "%": dot-separated names of letters, digits, "_" '
            'and "-" (at most 200 characters), like "orders.paid"', p_type
            USING ERRCODE = 'FS010';
    END IF;
    IF length(v_id) NOT BETWEEN 1 AND 200 THEN
        RAISE EXCEPTION 'invalid event id: 1 to 200 characters' USING ERRCODE = 'FS010';
    END IF;

    INSERT INTO flowsync.events (id, type, payload, emitted_at)
    VALUES (v_id, p_type, coalesce(p_payload, '{}'::jsonb), p_now)
    ON CONFLICT (id) DO NOTHING;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    IF v_count > 0 THEN
        -- Wakes the scheduler when (and only if) the emitting transaction commits.
        PERFORM pg_notify('flowsync_events', '');
    END IF;
    RETURN QUERY SELECT v_id, v_count > 0;
END;
$_$;


--
-- Name: execution_timeline(uuid); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync.execution_timeline(p_execution_id uuid) RETURNS TABLE(at timestamp with time zone, event text, node_id text, attempt integer, detail jsonb)
    LANGUAGE sql STABLE
    AS $$
    SELECT t.at, t.event, t.node_id, t.attempt, t.detail FROM (
        SELECT e.created_at AS at, 0 AS rank, 0::bigint AS seq, 'execution.created' AS event,
               NULL::text AS node_id, NULL::integer AS attempt,
               jsonb_build_object('version', e.version) AS detail
        FROM flowsync.executions e WHERE e.id = p_execution_id
        UNION ALL
        SELECT e.started_at, 1, 0, 'execution.started', NULL, NULL, '{}'
        FROM flowsync.executions e WHERE e.id = p_execution_id AND e.started_at IS NOT NULL
        UNION ALL
        SELECT e.finished_at, 9, 0, 'execution.' || e.status, NULL, NULL,
               coalesce(e.error, '{}')
        FROM flowsync.executions e WHERE e.id = p_execution_id AND e.finished_at IS NOT NULL
        UNION ALL
        SELECT a.queued_at, 3, a.id, 'step.queued', s.node_id, NULL, '{}'
        FROM flowsync.step_attempts a JOIN flowsync.steps s ON s.id = a.step_id
        WHERE a.execution_id = p_execution_id AND a.queued_at IS NOT NULL
        UNION ALL
        SELECT a.started_at, 4, a.id, 'step.started', s.node_id, a.attempt, '{}'
        FROM flowsync.step_attempts a JOIN flowsync.steps s ON s.id = a.step_id
        WHERE a.execution_id = p_execution_id AND a.started_at IS NOT NULL
        UNION ALL
        SELECT a.ended_at, 2, a.id, 'step.' || a.outcome, s.node_id, a.attempt, coalesce(a.error, '{}')
        FROM flowsync.step_attempts a JOIN flowsync.steps s ON s.id = a.step_id
        WHERE a.execution_id = p_execution_id
        UNION ALL
        -- The latest attempt of each step lives on the step row itself.
        SELECT s.queued_at, 3, s.id, 'step.queued', s.node_id, NULL, '{}'
        FROM flowsync.steps s WHERE s.execution_id = p_execution_id AND s.queued_at IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM flowsync.step_attempts a
                          WHERE a.step_id = s.id AND a.queued_at = s.queued_at)
        UNION ALL
        SELECT s.started_at, 4, s.id, 'step.started', s.node_id, s.attempt, '{}'
        FROM flowsync.steps s WHERE s.execution_id = p_execution_id AND s.started_at IS NOT NULL
          AND s.status IN ('running', 'succeeded')
        UNION ALL
        SELECT s.finished_at, 2, s.id, 'step.' || s.status, s.node_id,
               CASE WHEN s.attempt > 0 THEN s.attempt END, coalesce(s.error, '{}')
        FROM flowsync.steps s WHERE s.execution_id = p_execution_id AND s.finished_at IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM flowsync.step_attempts a
                          WHERE a.step_id = s.id AND a.attempt = s.attempt
                            AND a.outcome IN ('failed', 'dead', 'cancelled'))
        UNION ALL
        SELECT v.at, 6, v.id, 'execution.' || v.kind, NULL, NULL, v.detail
        FROM flowsync.execution_events v WHERE v.execution_id = p_execution_id
    ) t
    ORDER BY t.at, t.rank, t.seq
$$;


--
-- Name: fail_step(bigint, uuid, jsonb, boolean, bigint, timestamp with time zone); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync.fail_step(p_step_id bigint, p_token uuid, p_error jsonb, p_retryable boolean DEFAULT true, p_retry_after_ms bigint DEFAULT NULL::bigint, p_now timestamp with time zone DEFAULT now()) RETURNS text
    LANGUAGE sql
    AS $$
    SELECT c.result FROM flowsync.report_steps(
        NULL, jsonb_build_array(jsonb_build_object(
            'step_id', p_step_id, 'token', p_token, 'kind', 'failed', 'error', p_error,
            'retryable', p_retryable, 'retry_after_ms', p_retry_after_ms)),
        '{}', 0, 0, p_now) c
    WHERE c.result <> 'claimed'
$$;


--
-- Name: fire_trigger(uuid, text, jsonb, text, timestamp with time zone, timestamp with time zone); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync.fire_trigger(p_trigger_id uuid, p_dedupe_key text, p_input jsonb, p_error text DEFAULT NULL::text, p_scheduled_for timestamp with time zone DEFAULT NULL::timestamp with time zone, p_now timestamp with time zone DEFAULT now()) RETURNS TABLE(result text, execution_id uuid, error text)
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_workflow  text;
    v_fire      bigint;
    v_existing  uuid;
    v_started   record;
BEGIN
    SELECT w.name INTO v_workflow
    FROM flowsync.triggers t JOIN flowsync.workflows w ON w.id = t.workflow_id
    WHERE t.id = p_trigger_id AND t.enabled
    FOR KEY SHARE OF t;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'not_found'::text, NULL::uuid, NULL::text;
        RETURN;
    END IF;

    -- A concurrent fire of the same key waits here for the first one to commit.
    INSERT INTO flowsync.trigger_fires AS f
        (trigger_id, dedupe_key, scheduled_for, error, fired_at)
    VALUES (p_trigger_id, p_dedupe_key, p_scheduled_for, p_error, p_now)
    ON CONFLICT (trigger_id, dedupe_key) DO UPDATE
        SET fired_at = excluded.fired_at, error = excluded.error,
            scheduled_for = excluded.scheduled_for
        WHERE f.execution_id IS NULL
    RETURNING f.id INTO v_fire;

    IF v_fire IS NULL THEN
        SELECT f.execution_id INTO v_existing FROM flowsync.trigger_fires f
        WHERE f.trigger_id = p_trigger_id AND f.dedupe_key = p_dedupe_key;
        RETURN QUERY SELECT 'duplicate'::text, v_existing, NULL::text;
        RETURN;
    END IF;
    IF p_error IS NOT NULL THEN
        RETURN QUERY SELECT 'failed'::text, NULL::uuid, p_error;
        RETURN;
    END IF;

    BEGIN
        SELECT x.execution_id, x.created INTO v_started
        FROM flowsync.start_execution_ex(
            v_workflow, coalesce(p_input, '{}'::jsonb),
            'trigger:' || p_trigger_id || ':' || p_dedupe_key, NULL, p_now) x;
    EXCEPTION WHEN SQLSTATE 'FS001' OR SQLSTATE 'FS002' OR SQLSTATE 'FS003'
                   OR SQLSTATE 'FS004' THEN
        UPDATE flowsync.trigger_fires f SET error = SQLERRM WHERE f.id = v_fire;
        RETURN QUERY SELECT 'failed'::text, NULL::uuid, SQLERRM;
        RETURN;
    END;

    UPDATE flowsync.trigger_fires f SET execution_id = v_started.execution_id, error = NULL
    WHERE f.id = v_fire;
    RETURN QUERY SELECT CASE WHEN v_started.created THEN 'started' ELSE 'duplicate' END,
                        v_started.execution_id, NULL::text;
END;
$$;


--
-- Name: forbid_version_change(); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync.forbid_version_change() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    RAISE EXCEPTION 'workflow versions are immutable (workflow_id %, version %)',
        OLD.workflow_id, OLD.version
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$;


--
-- Name: heartbeat(text, bigint[], uuid[], integer, timestamp with time zone); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync.heartbeat(p_worker text, p_step_ids bigint[], p_tokens uuid[], p_lease_ms integer, p_now timestamp with time zone DEFAULT now()) RETURNS bigint[]
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_kept bigint[];
BEGIN
    UPDATE flowsync.workers w SET last_seen_at = p_now WHERE w.id = p_worker;

    WITH mine AS (
        SELECT s.id FROM flowsync.steps s
        JOIN unnest(p_step_ids, p_tokens) AS t(step_id, token)
          ON s.id = t.step_id AND s.lease_token = t.token
        WHERE s.status = 'running'
        ORDER BY s.id
        FOR UPDATE OF s
    ), extended AS (  -- (a lease row changes only under its step's lock)
        UPDATE flowsync.leases l
        SET expires_at = p_now + make_interval(secs => p_lease_ms / 1000.0)
        FROM mine WHERE l.step_id = mine.id
        RETURNING l.step_id AS id
    )
    SELECT coalesce(array_agg(id), '{}') INTO v_kept FROM extended;

    RETURN ARRAY(SELECT unnest(p_step_ids) EXCEPT SELECT unnest(v_kept));
END;
$$;


--
-- Name: next_run_at(text[]); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync.next_run_at(p_queues text[]) RETURNS timestamp with time zone
    LANGUAGE sql STABLE
    AS $$
    SELECT min(x.run_at) FROM unnest(p_queues) AS q(queue)
    CROSS JOIN LATERAL (
        SELECT j.run_at FROM flowsync.jobs j WHERE j.queue = q.queue ORDER BY j.run_at LIMIT 1
    ) x
$$;


--
-- Name: notify_due_jobs(timestamp with time zone, timestamp with time zone); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync.notify_due_jobs(p_after timestamp with time zone, p_until timestamp with time zone DEFAULT now(), OUT notified integer, OUT checked_until timestamp with time zone) RETURNS record
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_after timestamptz := coalesce(p_after, p_until - interval '5 seconds');
    v_row   record;
BEGIN
    notified := 0;
    checked_until := p_until;
    FOR v_row IN
        WITH RECURSIVE queues AS (
            (SELECT j.queue FROM flowsync.jobs j ORDER BY j.queue LIMIT 1)
            UNION ALL
            SELECT (SELECT j.queue FROM flowsync.jobs j WHERE j.queue > q.queue
                    ORDER BY j.queue LIMIT 1)
            FROM queues q WHERE q.queue IS NOT NULL
        )
        SELECT q.queue, d.run_at FROM queues q
        CROSS JOIN LATERAL (
            SELECT j.run_at FROM flowsync.jobs j
            WHERE j.queue = q.queue AND j.run_at > v_after AND j.run_at <= p_until
            ORDER BY j.run_at LIMIT 1
        ) d
        WHERE q.queue IS NOT NULL
    LOOP
        PERFORM flowsync._wake_workers(v_row.queue, v_row.run_at);
        notified := notified + 1;
    END LOOP;
END;
$$;


--
-- Name: process_event_claim(integer, text); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync.process_event_claim(p_limit integer DEFAULT 100, p_event_id text DEFAULT NULL::text) RETURNS TABLE(event_id text, event_type text, payload jsonb, emitted_at timestamp with time zone, trigger_id uuid, workflow text, config jsonb, input_mapping text)
    LANGUAGE sql
    AS $$
    WITH claimed AS (
        SELECT e.id, e.type, e.payload, e.emitted_at FROM flowsync.events e
        WHERE e.processed_at IS NULL AND (p_event_id IS NULL OR e.id = p_event_id)
        ORDER BY e.emitted_at, e.id
        LIMIT p_limit
        FOR UPDATE SKIP LOCKED
    )
    SELECT c.id, c.type, c.payload, c.emitted_at, t.id, w.name, t.config, t.input_mapping
    FROM claimed c
    LEFT JOIN flowsync.triggers t
        ON t.kind = 'event' AND t.enabled
       AND (t.event_type = c.type OR t.event_type = '*'
            OR (right(t.event_type, 2) = '.*' AND starts_with(c.type, left(t.event_type, -1))))
    LEFT JOIN flowsync.workflows w ON w.id = t.workflow_id
    ORDER BY c.emitted_at, c.id, t.created_at, t.id
$$;


--
-- Name: process_event_done(text[], timestamp with time zone); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync.process_event_done(p_event_ids text[], p_now timestamp with time zone DEFAULT now()) RETURNS integer
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_count integer;
BEGIN
    UPDATE flowsync.events e SET processed_at = p_now
    WHERE e.id = ANY (p_event_ids) AND e.processed_at IS NULL;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END;
$$;


--
-- Name: prune_executions(timestamp with time zone, integer); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync.prune_executions(p_older_than timestamp with time zone, p_limit integer DEFAULT 500) RETURNS integer
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_ids uuid[];
BEGIN
    SELECT array_agg(x.id) INTO v_ids FROM (
        SELECT e.id FROM flowsync.executions e
        -- Oldest created first, through executions_created_at_idx (no index reads
        -- finished_at: finishing an execution stays a HOT update).
        WHERE e.created_at < p_older_than AND e.finished_at < p_older_than
          AND e.status IN ('succeeded', 'failed', 'cancelled')
        ORDER BY e.created_at, e.id
        LIMIT p_limit
        FOR UPDATE SKIP LOCKED
    ) x;
    IF v_ids IS NULL THEN
        RETURN 0;
    END IF;
    -- A finished execution has no jobs (every function deletes a step's job when it ends the
    -- step), and jobs have no foreign key: make sure none can outlive its step.
    DELETE FROM flowsync.jobs j
    USING flowsync.steps s
    WHERE j.step_id = s.id AND s.execution_id = ANY (v_ids);
    DELETE FROM flowsync.executions e WHERE e.id = ANY (v_ids);
    RETURN cardinality(v_ids);
END;
$$;


--
-- Name: prune_schedulers(timestamp with time zone); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync.prune_schedulers(p_older_than timestamp with time zone) RETURNS integer
    LANGUAGE sql
    AS $$
    WITH deleted AS (
        DELETE FROM flowsync.schedulers s
        WHERE s.leader_since IS NULL AND coalesce(s.stopped_at, s.last_seen_at) < p_older_than
        RETURNING 1
    )
    SELECT count(*)::integer FROM deleted
$$;


--
-- Name: prune_trigger_fires(timestamp with time zone, integer); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync.prune_trigger_fires(p_older_than timestamp with time zone, p_limit integer DEFAULT 10000) RETURNS integer
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_fires   integer;
    v_events  integer := 0;
BEGIN
    DELETE FROM flowsync.trigger_fires f WHERE f.id IN (
        SELECT x.id FROM flowsync.trigger_fires x
        WHERE x.fired_at < p_older_than
        ORDER BY x.fired_at, x.id LIMIT p_limit);
    GET DIAGNOSTICS v_fires = ROW_COUNT;

    IF v_fires < p_limit THEN
        DELETE FROM flowsync.events e WHERE e.id IN (
            SELECT x.id FROM flowsync.events x
            WHERE x.processed_at < p_older_than
            ORDER BY x.processed_at LIMIT p_limit - v_fires);
        GET DIAGNOSTICS v_events = ROW_COUNT;
    END IF;
    RETURN v_fires + v_events;
END;
$$;


--
-- Name: prune_workers(timestamp with time zone, integer); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync.prune_workers(p_older_than timestamp with time zone, p_limit integer DEFAULT 500) RETURNS integer
    LANGUAGE sql
    AS $$
    WITH doomed AS (
        SELECT w.id FROM flowsync.workers w
        WHERE coalesce(w.stopped_at, w.last_seen_at) < p_older_than
          AND NOT EXISTS (SELECT 1 FROM flowsync.leases l WHERE l.worker_id = w.id)
        LIMIT p_limit
        FOR UPDATE OF w SKIP LOCKED
    ), deleted AS (
        DELETE FROM flowsync.workers w USING doomed d WHERE w.id = d.id RETURNING 1
    )
    SELECT count(*)::integer FROM deleted
$$;


--
-- Name: register_worker(text, text, integer, text[], integer, timestamp with time zone); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync.register_worker(p_id text, p_hostname text, p_pid integer, p_queues text[], p_concurrency integer, p_now timestamp with time zone DEFAULT now()) RETURNS void
    LANGUAGE sql
    AS $$
    INSERT INTO flowsync.workers AS w (id, hostname, pid, queues, concurrency, started_at, last_seen_at)
    VALUES (p_id, p_hostname, p_pid, p_queues, p_concurrency, p_now, p_now)
    ON CONFLICT (id) DO UPDATE SET last_seen_at = p_now, stopped_at = NULL;
    SELECT flowsync._announce_workers(p_queues);
$$;


--
-- Name: release_steps(text, bigint[], uuid[], timestamp with time zone); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync.release_steps(p_worker text, p_step_ids bigint[], p_tokens uuid[], p_now timestamp with time zone DEFAULT now()) RETURNS integer
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_released bigint[];
BEGIN
    SELECT coalesce(array_agg(s.id), '{}') INTO v_released FROM (
        SELECT s.id FROM flowsync.steps s
        JOIN unnest(p_step_ids, p_tokens) AS t(step_id, token)
          ON s.id = t.step_id AND s.lease_token = t.token
        WHERE s.status = 'running' AND s.worker_id = p_worker
        ORDER BY s.id
        FOR UPDATE OF s
    ) s;

    PERFORM flowsync._record_attempts(v_released, 'handed_back', NULL, p_now);
    UPDATE flowsync.steps s
    SET status = 'queued', attempt = s.attempt - 1, lease_token = NULL, run_at = p_now,
        queued_at = p_now
    WHERE s.id = ANY (v_released);
    DELETE FROM flowsync.leases l WHERE l.step_id = ANY (v_released);

    -- Back to the job table (and a wake-up), due now.
    PERFORM flowsync._enqueue(flowsync._ready(v_released), p_now);
    RETURN cardinality(v_released);
END;
$$;


--
-- Name: release_unknown_steps(text, bigint[], timestamp with time zone); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync.release_unknown_steps(p_worker text, p_known_ids bigint[], p_now timestamp with time zone DEFAULT now()) RETURNS integer
    LANGUAGE sql
    AS $$
    SELECT flowsync.release_steps(
        p_worker,
        coalesce(array_agg(s.id), '{}'),
        coalesce(array_agg(s.lease_token), '{}'),
        p_now)
    FROM flowsync.leases l JOIN flowsync.steps s ON s.id = l.step_id
    WHERE l.worker_id = p_worker AND l.step_id <> ALL (p_known_ids)
$$;


--
-- Name: replay_dead_letter(bigint, text, timestamp with time zone); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync.replay_dead_letter(p_step_id bigint, p_actor text DEFAULT NULL::text, p_now timestamp with time zone DEFAULT now()) RETURNS TABLE(result text, execution_id uuid, node_id text)
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_execution_id  uuid;
    v_node_id       text;
BEGIN
    SELECT s.execution_id INTO v_execution_id FROM flowsync.steps s WHERE s.id = p_step_id;
    -- The execution's lock before the step's status is read: a replay of the same step that
    -- commits meanwhile makes this one 'not_found', not a conflict with the running execution.
    PERFORM FROM flowsync.executions e WHERE e.id = v_execution_id FOR UPDATE;
    SELECT s.node_id INTO v_node_id FROM flowsync.steps s
    WHERE s.id = p_step_id AND s.status IN ('failed', 'dead');
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'not_found'::text, NULL::uuid, NULL::text;
        RETURN;
    END IF;
    RETURN QUERY SELECT flowsync.resume_execution(v_execution_id, ARRAY[p_step_id], p_actor, p_now),
                        v_execution_id, v_node_id;
END;
$$;


--
-- Name: report_steps(text, jsonb, text[], integer, integer, timestamp with time zone, boolean); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync.report_steps(p_worker text, p_reports jsonb, p_queues text[] DEFAULT '{}'::text[], p_limit integer DEFAULT 0, p_lease_ms integer DEFAULT 30000, p_now timestamp with time zone DEFAULT now(), p_top_up boolean DEFAULT true) RETURNS SETOF flowsync.step_claim
    LANGUAGE plpgsql
    AS $_$
DECLARE
    v_ids       bigint[];
    v_valid     bigint[];
    v_results   text[];
    v_succeeded bigint[];
    v_ended     bigint[] := '{}';
    v_jobs      bigint[] := '{}';
    v_report    record;
    v_step      flowsync.steps;
    v_run_at    timestamptz;
    v_handed    integer;
BEGIN
    IF coalesce(jsonb_array_length(p_reports), 0) = 0 THEN
        RETURN;
    END IF;

    -- Lock the executions concerned, in id order (the order every multi-execution locker
    -- uses). (Each row by its key, in that order, whatever the statistics say: a LATERAL
    -- subquery is one index lookup per outer row, and the planner cannot reorder it.)
    PERFORM 1
    FROM (SELECT DISTINCT s.execution_id
          FROM jsonb_to_recordset(p_reports) AS r(step_id bigint)
          CROSS JOIN LATERAL (
              SELECT s.execution_id FROM flowsync.steps s WHERE s.id = r.step_id OFFSET 0) s
          ORDER BY s.execution_id) x
    CROSS JOIN LATERAL (
        SELECT 1 FROM flowsync.executions e WHERE e.id = x.execution_id FOR UPDATE) e;

    -- The common case first, set-based: successes that count (the step running under the
    -- report's token) end their attempt, and with it the lease. Steps are locked in id order
    -- (the sorted reports drive one key lookup each).
    WITH done AS (
        UPDATE flowsync.steps s
        SET status = 'succeeded', output = x.output, outcome = x.outcome, error = NULL,
            finished_at = p_now
        FROM (SELECT * FROM jsonb_to_recordset(p_reports)
                  AS x(step_id bigint, token uuid, kind text, output jsonb, outcome jsonb)
              WHERE x.kind = 'succeeded' ORDER BY x.step_id OFFSET 0) x
        WHERE s.id = x.step_id AND s.status = 'running' AND s.lease_token = x.token
        RETURNING s.id
    ), ended AS (
        DELETE FROM flowsync.leases l WHERE l.step_id IN (SELECT d.id FROM done d)
    )
    SELECT coalesce(array_agg(d.id ORDER BY d.id), '{}') INTO v_succeeded FROM done d;

    IF cardinality(v_succeeded) = jsonb_array_length(p_reports) THEN
        v_ids := v_succeeded;  -- (every report counted: nothing else to look at)
        v_valid := v_succeeded;
        v_results := array_fill('ok'::text, ARRAY[cardinality(v_succeeded)]);
    ELSE
        -- Classify the other reports, locking their steps in id order: 'ok' ones go on.
        WITH reports AS (
            SELECT * FROM jsonb_to_recordset(p_reports) AS x(step_id bigint, token uuid)
        ), current AS (
            SELECT s.id, s.status, s.lease_token
            FROM (SELECT DISTINCT r.step_id FROM reports r
                  WHERE r.step_id <> ALL (v_succeeded) ORDER BY r.step_id) r
            CROSS JOIN LATERAL (
                SELECT s.id, s.status, s.lease_token FROM flowsync.steps s
                WHERE s.id = r.step_id FOR UPDATE) s
        ), classified AS (
            SELECT r.step_id,
                   CASE WHEN r.step_id = ANY (v_succeeded) THEN 'ok'
                        WHEN c.id IS NULL THEN 'unknown'
                        WHEN c.status = 'running' AND c.lease_token = r.token THEN 'ok'
                        WHEN c.lease_token = r.token THEN 'duplicate'
                        ELSE 'stale' END AS result
            FROM reports r LEFT JOIN current c ON c.id = r.step_id
        )
        SELECT array_agg(step_id ORDER BY step_id), array_agg(result ORDER BY step_id),
               array_agg(step_id) FILTER (WHERE result = 'ok')
        INTO v_ids, v_results, v_valid
        FROM classified;
    END IF;

    RETURN QUERY
    SELECT x.result, x.step_id, NULL::uuid, NULL::text, NULL::integer, NULL::text, NULL::text,
           NULL::jsonb, NULL::integer, NULL::integer, NULL::uuid, NULL::integer, NULL::jsonb,
           NULL::jsonb, NULL::jsonb
    FROM unnest(v_results, v_ids) AS x(result, step_id);

    IF v_valid IS NULL THEN
        IF p_top_up AND p_worker IS NOT NULL AND p_limit > 0 THEN
            RETURN QUERY SELECT * FROM flowsync.claim_steps(
                p_worker, p_queues, p_limit, p_lease_ms, p_now);
        END IF;
        RETURN;
    END IF;

    IF p_reports @? '$[*].logs[0]' THEN
        INSERT INTO flowsync.step_logs (execution_id, step_id, attempt, at, level, message, fields)
        SELECT s.execution_id, s.id, s.attempt, coalesce(l.at, p_now), coalesce(l.level, 'info'),
               coalesce(l.message, ''), coalesce(l.fields, '{}')
        FROM jsonb_to_recordset(p_reports) AS x(step_id bigint, logs jsonb)
        CROSS JOIN LATERAL (  -- (a key lookup, whatever the statistics say)
            SELECT s.execution_id, s.id, s.attempt FROM flowsync.steps s
            WHERE s.id = x.step_id OFFSET 0) s
        CROSS JOIN LATERAL jsonb_to_recordset(x.logs)
             AS l(at timestamptz, level text, message text, fields jsonb)
        WHERE x.logs IS NOT NULL AND jsonb_array_length(x.logs) > 0 AND x.step_id = ANY (v_valid);
    END IF;
    v_ended := v_succeeded;

    -- Failures and snoozes, one at a time (the uncommon path). Each ends its attempt too.
    IF cardinality(v_valid) > cardinality(v_succeeded) THEN
        DELETE FROM flowsync.leases l
        WHERE l.step_id = ANY (v_valid) AND l.step_id <> ALL (v_succeeded);
        FOR v_report IN
            SELECT * FROM jsonb_to_recordset(p_reports) AS x(
                step_id bigint, kind text, error jsonb, retryable boolean, retry_after_ms bigint,
                until timestamptz, state jsonb)
            WHERE x.step_id = ANY (v_valid) AND x.step_id <> ALL (v_succeeded)
            ORDER BY x.step_id
        LOOP
            SELECT * INTO v_step FROM flowsync.steps s WHERE s.id = v_report.step_id;

            IF v_report.kind = 'snoozed' THEN
                v_run_at := coalesce(v_report.until, p_now);
                PERFORM flowsync._record_attempts(
                    ARRAY[v_step.id], 'snoozed', jsonb_build_object('until', v_run_at), p_now);
                UPDATE flowsync.steps s
                SET status = 'queued', state = v_report.state, attempt = s.attempt - 1,
                    run_at = v_run_at, queued_at = p_now
                WHERE s.id = v_step.id;
                INSERT INTO flowsync.jobs (step_id, queue, run_at)
                VALUES (v_step.id, (flowsync._step_node(v_step)).queue, v_run_at);
                v_jobs := v_jobs || v_step.id;

            ELSIF v_report.kind = 'failed' THEN
                IF flowsync._fail_attempt(v_step, v_report.error, coalesce(v_report.retryable, true),
                                          v_report.retry_after_ms, 'retry', false, p_now) THEN
                    v_jobs := v_jobs || v_step.id;
                ELSE
                    v_ended := v_ended || v_step.id;
                END IF;
            ELSE
                RAISE EXCEPTION 'report for step %: unknown kind "%"', v_report.step_id, v_report.kind
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
        END LOOP;
    END IF;

    IF cardinality(v_jobs) > 0 THEN
        PERFORM flowsync._notify_jobs(v_jobs);
    END IF;
    RETURN QUERY SELECT * FROM flowsync._settle(
        v_ended, p_now, p_worker, p_queues, p_limit, p_lease_ms);
    GET DIAGNOSTICS v_handed = ROW_COUNT;

    -- Fill the worker's remaining slots from the job table: one round trip per cycle.
    IF p_top_up AND p_worker IS NOT NULL AND p_limit > v_handed THEN
        RETURN QUERY SELECT * FROM flowsync.claim_steps(
            p_worker, p_queues, p_limit - v_handed, p_lease_ms, p_now);
    END IF;
END;
$_$;


--
-- Name: rescue_expired_leases(integer, timestamp with time zone); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync.rescue_expired_leases(p_limit integer DEFAULT 1000, p_now timestamp with time zone DEFAULT now()) RETURNS integer
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_candidates bigint[];
    v_locked     uuid[];
    v_step       flowsync.steps;
    v_lease      flowsync.leases;
    v_error      jsonb;
    v_jobs       bigint[] := '{}';
    v_ended      bigint[] := '{}';
BEGIN
    SELECT array_agg(l.step_id) INTO v_candidates FROM (
        SELECT l.step_id FROM flowsync.leases l
        WHERE l.expires_at < p_now
        ORDER BY l.expires_at LIMIT p_limit
    ) l;
    IF v_candidates IS NULL THEN
        RETURN 0;
    END IF;

    -- Executions first, in id order, as everywhere; skip those another process is settling.
    SELECT array_agg(x.id) INTO v_locked FROM (
        SELECT e.id FROM flowsync.executions e
        WHERE e.id IN (SELECT s.execution_id FROM flowsync.steps s WHERE s.id = ANY (v_candidates))
        ORDER BY e.id
        FOR UPDATE SKIP LOCKED
    ) x;

    FOR v_step IN
        SELECT s.* FROM flowsync.steps s
        WHERE s.id = ANY (v_candidates) AND s.execution_id = ANY (v_locked)
          AND s.status = 'running'
        ORDER BY s.id
        FOR UPDATE SKIP LOCKED
    LOOP
        -- Under the step's lock (a heartbeat extends a lease only under it): a lease extended
        -- since the candidates were read is no longer expired, and stays.
        DELETE FROM flowsync.leases l WHERE l.step_id = v_step.id AND l.expires_at < p_now
        RETURNING * INTO v_lease;
        CONTINUE WHEN NOT FOUND;

        v_error := jsonb_build_object(
            'type', 'LeaseExpired',
            'message', format('worker %s stopped reporting; its lease expired at %s',
                              v_lease.worker_id, v_lease.expires_at),
            'worker_id', v_lease.worker_id);
        -- The lost attempt counts against the budget; the old token is revoked.
        IF flowsync._fail_attempt(v_step, v_error, true, NULL, 'lease_expired', true, p_now) THEN
            v_jobs := v_jobs || v_step.id;
        ELSE
            v_ended := v_ended || v_step.id;
        END IF;
    END LOOP;

    PERFORM flowsync._notify_jobs(v_jobs);
    PERFORM flowsync._settle(v_ended, p_now);
    RETURN cardinality(v_jobs) + cardinality(v_ended);
END;
$$;


--
-- Name: resume_execution(uuid, bigint[], text, timestamp with time zone); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync.resume_execution(p_execution_id uuid, p_step_ids bigint[] DEFAULT NULL::bigint[], p_actor text DEFAULT NULL::text, p_now timestamp with time zone DEFAULT now()) RETURNS text
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_exec      flowsync.executions;
    v_retried   bigint[];
    v_reset     bigint[];
    v_run       bigint[];
    v_skip      bigint[];
    v_failures  integer;
BEGIN
    SELECT * INTO v_exec FROM flowsync.executions e WHERE e.id = p_execution_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 'not_found';
    ELSIF v_exec.status <> 'failed' THEN
        RETURN v_exec.status::text;
    END IF;

    SELECT array_agg(s.id) INTO v_retried FROM flowsync.steps s
    WHERE s.execution_id = p_execution_id AND s.status IN ('failed', 'dead')
      AND (p_step_ids IS NULL OR s.id = ANY (p_step_ids));
    IF v_retried IS NULL THEN
        RETURN 'nothing_to_resume';
    END IF;

    SELECT array_agg(s.id) INTO v_reset FROM flowsync.steps s
    WHERE s.execution_id = p_execution_id
      AND (s.id = ANY (v_retried) OR s.status IN ('pending', 'skipped', 'cancelled'));

    UPDATE flowsync.steps s
    SET status = 'pending', attempt = 0, deps_succeeded = 0, deps_failed = 0, deps_skipped = 0,
        outcome = NULL, output = NULL, error = NULL, state = NULL, run_at = NULL,
        queued_at = NULL, started_at = NULL, finished_at = NULL, dead_lettered_at = NULL
    WHERE s.id = ANY (v_reset);

    -- Count again what the steps that keep their state contribute to each reset step.
    UPDATE flowsync.steps d
    SET deps_succeeded = p.ok, deps_failed = p.failed, deps_skipped = p.skipped
    FROM flowsync._edge_counts(ARRAY(
             SELECT s.id FROM flowsync.steps s
             WHERE s.execution_id = p_execution_id AND s.id <> ALL (v_reset))) p
    WHERE d.execution_id = p_execution_id AND d.node_idx = p.to_idx AND d.id = ANY (v_reset);

    WITH decided AS (
        SELECT s.id, flowsync._join_decision(n.join_rule, n.upstream_count, s.deps_succeeded,
                                             s.deps_failed, s.deps_skipped) AS decision
        FROM flowsync.steps s
        JOIN flowsync.workflow_nodes n
          ON n.workflow_id = v_exec.workflow_id AND n.version = v_exec.version
         AND n.node_idx = s.node_idx
        WHERE s.id = ANY (v_reset)
    )
    SELECT coalesce(array_agg(id) FILTER (WHERE decision = 'run'), '{}'),
           coalesce(array_agg(id) FILTER (WHERE decision = 'skip'), '{}')
    INTO v_run, v_skip FROM decided;

    SELECT count(*) INTO v_failures
    FROM flowsync.steps s
    JOIN flowsync.workflow_nodes n
      ON n.workflow_id = v_exec.workflow_id AND n.version = v_exec.version AND n.node_idx = s.node_idx
    WHERE s.execution_id = p_execution_id AND s.status IN ('failed', 'dead')
      AND NOT n.continue_on_failure;

    UPDATE flowsync.executions e
    SET status = 'running', finished_at = NULL, output = NULL, error = NULL,
        steps_open = cardinality(v_reset), steps_failed = v_failures
    WHERE e.id = p_execution_id;

    UPDATE flowsync.steps s SET status = 'queued', queued_at = p_now, run_at = p_now
    WHERE s.id = ANY (v_run);
    IF cardinality(v_skip) > 0 THEN
        UPDATE flowsync.steps s SET status = 'skipped', finished_at = p_now WHERE s.id = ANY (v_skip);
    END IF;

    INSERT INTO flowsync.execution_events (execution_id, at, kind, detail)
    VALUES (p_execution_id, p_now, CASE WHEN p_step_ids IS NULL THEN 'resumed' ELSE 'replayed' END,
            jsonb_strip_nulls(jsonb_build_object(
                'steps', (SELECT jsonb_agg(s.node_id ORDER BY s.id) FROM flowsync.steps s
                          WHERE s.id = ANY (v_retried)),
                'actor', p_actor)));

    PERFORM flowsync._enqueue(flowsync._ready(v_run), p_now);
    -- Skips settle like any other terminal step (and may finish the execution at once).
    PERFORM flowsync._settle(v_skip, p_now);
    RETURN 'resumed';
END;
$$;


--
-- Name: save_workflow_version(text, jsonb, text, jsonb, uuid, timestamp with time zone); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync.save_workflow_version(p_name text, p_definition jsonb, p_checksum text, p_plan jsonb, p_actor uuid DEFAULT NULL::uuid, p_now timestamp with time zone DEFAULT now()) RETURNS TABLE(workflow_id bigint, version integer, created boolean)
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_workflow flowsync.workflows;
    v_latest_checksum text;
BEGIN
    INSERT INTO flowsync.workflows AS w (name, created_at, updated_at)
    VALUES (p_name, p_now, p_now)
    ON CONFLICT (name) DO NOTHING;

    -- The row lock serialises concurrent saves of one workflow, so versions never collide.
    SELECT * INTO STRICT v_workflow FROM flowsync.workflows w WHERE w.name = p_name FOR UPDATE;

    SELECT wv.checksum INTO v_latest_checksum
    FROM flowsync.workflow_versions wv
    WHERE wv.workflow_id = v_workflow.id AND wv.version = v_workflow.latest_version;

    IF v_latest_checksum = p_checksum THEN
        RETURN QUERY SELECT v_workflow.id, v_workflow.latest_version, false;
        RETURN;
    END IF;

    INSERT INTO flowsync.workflow_versions (workflow_id, version, definition, checksum, created_at, created_by)
    VALUES (v_workflow.id, v_workflow.latest_version + 1, p_definition, p_checksum, p_now, p_actor);

    INSERT INTO flowsync.workflow_nodes
        (workflow_id, version, node_idx, node_id, type, config, queue, join_rule, timeout_ms,
         max_attempts, backoff, backoff_initial_ms, backoff_max_ms, jitter, continue_on_failure,
         upstream_count, is_leaf, context_nodes)
    SELECT v_workflow.id, v_workflow.latest_version + 1, n.node_idx, n.node_id, n.type,
           coalesce(n.config, '{}'), n.queue, n.join_rule, n.timeout_ms, n.max_attempts, n.backoff,
           n.backoff_initial_ms, n.backoff_max_ms, n.jitter, n.continue_on_failure,
           n.upstream_count, n.is_leaf,
           ARRAY(SELECT jsonb_array_elements_text(n.context_nodes)::integer)
    FROM jsonb_to_recordset(p_plan->'nodes') AS n(
        node_idx integer, node_id text, type text, config jsonb, queue text,
        join_rule flowsync.join_rule, timeout_ms integer, max_attempts integer, backoff text,
        backoff_initial_ms integer, backoff_max_ms integer, jitter boolean,
        continue_on_failure boolean, upstream_count integer, is_leaf boolean, context_nodes jsonb);

    INSERT INTO flowsync.workflow_edges (workflow_id, version, from_idx, to_idx, when_value)
    SELECT v_workflow.id, v_workflow.latest_version + 1, e.from_idx, e.to_idx, e.when_value
    FROM jsonb_to_recordset(p_plan->'edges') AS e(from_idx integer, to_idx integer, when_value jsonb);

    UPDATE flowsync.workflows w
    SET latest_version = v_workflow.latest_version + 1, updated_at = p_now
    WHERE w.id = v_workflow.id;

    INSERT INTO flowsync.audit_log (at, actor, action, subject, details)
    VALUES (p_now, p_actor, 'workflow.version_created', 'workflow:' || p_name,
            jsonb_build_object('version', v_workflow.latest_version + 1, 'checksum', p_checksum));

    RETURN QUERY SELECT v_workflow.id, v_workflow.latest_version + 1, true;
END;
$$;


--
-- Name: scheduler_heartbeat(text, timestamp with time zone); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync.scheduler_heartbeat(p_id text, p_now timestamp with time zone DEFAULT now()) RETURNS boolean
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF flowsync.scheduler_lock_holder() IS DISTINCT FROM pg_backend_pid() THEN
        RETURN false;
    END IF;
    UPDATE flowsync.schedulers s SET last_tick_at = p_now, last_seen_at = p_now
    WHERE s.id = p_id AND s.leader_since IS NOT NULL
      AND (s.last_tick_at IS NULL OR s.last_tick_at <= p_now - interval '1 second');
    RETURN true;
END;
$$;


--
-- Name: scheduler_lead(text, text, integer, timestamp with time zone); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync.scheduler_lead(p_id text, p_hostname text, p_pid integer, p_now timestamp with time zone DEFAULT now()) RETURNS boolean
    LANGUAGE plpgsql
    AS $$
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


--
-- Name: scheduler_lock_holder(); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync.scheduler_lock_holder() RETURNS integer
    LANGUAGE sql STABLE
    AS $$
    SELECT l.pid FROM pg_locks l
    WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
      AND l.database = (SELECT d.oid FROM pg_database d WHERE d.datname = current_database())
      AND l.classid = (flowsync.scheduler_lock_key() >> 32)::oid
      AND l.objid = (flowsync.scheduler_lock_key() & 4294967295)::oid
    LIMIT 1
$$;


--
-- Name: scheduler_lock_key(); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync.scheduler_lock_key() RETURNS bigint
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT 7340721385002::bigint $$;


--
-- Name: scheduler_stop(text, timestamp with time zone); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync.scheduler_stop(p_id text, p_now timestamp with time zone DEFAULT now()) RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
    UPDATE flowsync.schedulers s
    SET stopped_at = p_now, last_seen_at = p_now, leader_since = NULL
    WHERE s.id = p_id;
    IF flowsync.scheduler_lock_holder() = pg_backend_pid() THEN
        PERFORM pg_advisory_unlock(flowsync.scheduler_lock_key());
    END IF;
END;
$$;


--
-- Name: set_workflow_archived(text, boolean, uuid, timestamp with time zone); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync.set_workflow_archived(p_name text, p_archived boolean, p_actor uuid DEFAULT NULL::uuid, p_now timestamp with time zone DEFAULT now()) RETURNS boolean
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_changed integer;
BEGIN
    UPDATE flowsync.workflows w
    SET archived_at = CASE WHEN p_archived THEN p_now END, updated_at = p_now
    WHERE w.name = p_name AND (w.archived_at IS NOT NULL) <> p_archived;
    GET DIAGNOSTICS v_changed = ROW_COUNT;

    IF v_changed > 0 THEN
        INSERT INTO flowsync.audit_log (at, actor, action, subject)
        VALUES (p_now, p_actor,
                CASE WHEN p_archived THEN 'workflow.archived' ELSE 'workflow.restored' END,
                'workflow:' || p_name);
        RETURN true;
    END IF;
    RETURN EXISTS (SELECT 1 FROM flowsync.workflows w WHERE w.name = p_name);
END;
$$;


--
-- Name: start_execution(text, jsonb, text, integer); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync.start_execution(workflow text, input jsonb DEFAULT '{}'::jsonb, idempotency_key text DEFAULT NULL::text, version integer DEFAULT NULL::integer) RETURNS uuid
    LANGUAGE sql
    AS $$
    SELECT x.execution_id
    FROM flowsync.start_execution_ex(workflow, input, idempotency_key, version) x
$$;


--
-- Name: start_execution_ex(text, jsonb, text, integer, timestamp with time zone); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync.start_execution_ex(p_workflow text, p_input jsonb DEFAULT '{}'::jsonb, p_idempotency_key text DEFAULT NULL::text, p_version integer DEFAULT NULL::integer, p_now timestamp with time zone DEFAULT now()) RETURNS TABLE(execution_id uuid, created boolean, version integer, status flowsync.execution_status)
    LANGUAGE plpgsql
    AS $$
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


--
-- Name: start_executions(text, jsonb, text[], integer); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync.start_executions(workflow text, inputs jsonb, idempotency_keys text[] DEFAULT NULL::text[], version integer DEFAULT NULL::integer) RETURNS TABLE(ordinality integer, execution_id uuid, created boolean)
    LANGUAGE sql
    AS $$
    SELECT x.ordinality, x.execution_id, x.created
    FROM flowsync.start_executions_ex(workflow, inputs, idempotency_keys, version) x
    ORDER BY x.ordinality
$$;


--
-- Name: start_executions_ex(text, jsonb, text[], integer, timestamp with time zone); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync.start_executions_ex(p_workflow text, p_inputs jsonb, p_idempotency_keys text[] DEFAULT NULL::text[], p_version integer DEFAULT NULL::integer, p_now timestamp with time zone DEFAULT now()) RETURNS TABLE(ordinality integer, execution_id uuid, created boolean, version integer, status flowsync.execution_status)
    LANGUAGE plpgsql
    AS $$
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


--
-- Name: stop_worker(text, timestamp with time zone); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync.stop_worker(p_id text, p_now timestamp with time zone DEFAULT now()) RETURNS void
    LANGUAGE sql
    AS $$
    UPDATE flowsync.workers w SET stopped_at = p_now, last_seen_at = p_now WHERE w.id = p_id;
    SELECT flowsync._announce_workers(w.queues) FROM flowsync.workers w WHERE w.id = p_id;
$$;


--
-- Name: trigger_advance(uuid, timestamp with time zone); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync.trigger_advance(p_id uuid, p_next_fire_at timestamp with time zone) RETURNS boolean
    LANGUAGE plpgsql
    AS $$
BEGIN
    UPDATE flowsync.triggers t SET next_fire_at = p_next_fire_at
    WHERE t.id = p_id AND t.kind = 'cron';
    RETURN FOUND;
END;
$$;


--
-- Name: triggers; Type: TABLE; Schema: flowsync; Owner: -
--

CREATE TABLE flowsync.triggers (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    workflow_id bigint NOT NULL,
    kind text NOT NULL,
    enabled boolean DEFAULT true NOT NULL,
    config jsonb DEFAULT '{}'::jsonb NOT NULL,
    input_mapping text,
    hook_key text,
    secret text,
    event_type text,
    next_fire_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT triggers_config_chk CHECK ((jsonb_typeof(config) = 'object'::text)),
    CONSTRAINT triggers_cron_chk CHECK (((kind = 'cron'::text) = (next_fire_at IS NOT NULL))),
    CONSTRAINT triggers_event_chk CHECK (((kind = 'event'::text) = (event_type IS NOT NULL))),
    CONSTRAINT triggers_input_mapping_chk CHECK (((length(input_mapping) >= 1) AND (length(input_mapping) <= 4096))),
    CONSTRAINT triggers_kind_chk CHECK ((kind = ANY (ARRAY['webhook'::text, 'cron'::text, 'event'::text, 'pgmq'::text]))),
    CONSTRAINT triggers_webhook_chk CHECK (((kind = 'webhook'::text) = ((hook_key IS NOT NULL) AND (secret IS NOT NULL))))
);


--
-- Name: trigger_claim_due(integer, timestamp with time zone); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync.trigger_claim_due(p_limit integer DEFAULT 100, p_now timestamp with time zone DEFAULT now()) RETURNS SETOF flowsync.triggers
    LANGUAGE sql
    AS $$
    SELECT t.* FROM flowsync.triggers t
    WHERE t.kind = 'cron' AND t.enabled AND t.next_fire_at <= p_now
    ORDER BY t.next_fire_at
    LIMIT p_limit
    FOR NO KEY UPDATE SKIP LOCKED
$$;


--
-- Name: trigger_claim_pgmq(integer); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync.trigger_claim_pgmq(p_limit integer DEFAULT 100) RETURNS SETOF flowsync.triggers
    LANGUAGE sql
    AS $$
    SELECT t.* FROM flowsync.triggers t
    WHERE t.kind = 'pgmq' AND t.enabled
    ORDER BY t.created_at, t.id
    LIMIT p_limit
    FOR NO KEY UPDATE SKIP LOCKED
$$;


--
-- Name: trigger_create(text, text, boolean, jsonb, text, text, text, text, timestamp with time zone, uuid, timestamp with time zone); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync.trigger_create(p_workflow text, p_kind text, p_enabled boolean, p_config jsonb, p_input_mapping text, p_hook_key text, p_secret text, p_event_type text, p_next_fire_at timestamp with time zone, p_actor uuid DEFAULT NULL::uuid, p_now timestamp with time zone DEFAULT now()) RETURNS uuid
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_workflow  flowsync.workflows;
    v_id        uuid;
BEGIN
    SELECT * INTO v_workflow FROM flowsync.workflows w WHERE w.name = p_workflow FOR KEY SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'workflow "%" does not exist', p_workflow USING ERRCODE = 'FS001';
    END IF;
    IF v_workflow.archived_at IS NOT NULL THEN
        RAISE EXCEPTION 'workflow "%" is archived; restore it to add triggers', p_workflow
            USING ERRCODE = 'FS002';
    END IF;

    INSERT INTO flowsync.triggers AS t
        (workflow_id, kind, enabled, config, input_mapping, hook_key, secret, event_type,
         next_fire_at, created_at, updated_at)
    VALUES (v_workflow.id, p_kind, p_enabled, coalesce(p_config, '{}'), p_input_mapping,
            p_hook_key, p_secret, p_event_type, p_next_fire_at, p_now, p_now)
    RETURNING t.id INTO v_id;

    INSERT INTO flowsync.audit_log (at, actor, action, subject, details)
    VALUES (p_now, p_actor, 'trigger.created', 'trigger:' || v_id,
            jsonb_build_object('workflow', p_workflow, 'kind', p_kind));
    RETURN v_id;
END;
$$;


--
-- Name: trigger_delete(uuid, uuid, timestamp with time zone); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync.trigger_delete(p_id uuid, p_actor uuid DEFAULT NULL::uuid, p_now timestamp with time zone DEFAULT now()) RETURNS boolean
    LANGUAGE plpgsql
    AS $$
BEGIN
    DELETE FROM flowsync.triggers t WHERE t.id = p_id;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    INSERT INTO flowsync.audit_log (at, actor, action, subject)
    VALUES (p_now, p_actor, 'trigger.deleted', 'trigger:' || p_id);
    RETURN true;
END;
$$;


--
-- Name: trigger_update(uuid, boolean, jsonb, text, text, timestamp with time zone, uuid, timestamp with time zone); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync.trigger_update(p_id uuid, p_enabled boolean, p_config jsonb, p_input_mapping text, p_event_type text, p_next_fire_at timestamp with time zone, p_actor uuid DEFAULT NULL::uuid, p_now timestamp with time zone DEFAULT now()) RETURNS boolean
    LANGUAGE plpgsql
    AS $$
BEGIN
    UPDATE flowsync.triggers t
    SET enabled = p_enabled, config = coalesce(p_config, '{}'), input_mapping = p_input_mapping,
        event_type = p_event_type, updated_at = p_now,
        next_fire_at = CASE WHEN t.kind = 'cron' THEN coalesce(p_next_fire_at, t.next_fire_at) END
    WHERE t.id = p_id;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    INSERT INTO flowsync.audit_log (at, actor, action, subject, details)
    VALUES (p_now, p_actor, 'trigger.updated', 'trigger:' || p_id,
            jsonb_build_object('enabled', p_enabled));
    RETURN true;
END;
$$;


--
-- Name: worker_peers(text, text[], integer, timestamp with time zone); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync.worker_peers(p_worker text, p_queues text[], p_seen_within_ms integer, p_now timestamp with time zone DEFAULT now()) RETURNS integer
    LANGUAGE sql STABLE
    AS $$
    SELECT count(*)::integer FROM flowsync.workers w
    WHERE w.id <> p_worker AND w.stopped_at IS NULL AND w.queues && p_queues
      AND w.last_seen_at >= p_now - make_interval(secs => p_seen_within_ms / 1000.0)
$$;


--
-- Name: api_keys; Type: TABLE; Schema: flowsync; Owner: -
--

CREATE TABLE flowsync.api_keys (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    name text DEFAULT ''::text NOT NULL,
    prefix text NOT NULL,
    key_hash bytea NOT NULL,
    scopes flowsync.api_scope[] NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    last_used_at timestamp with time zone,
    revoked_at timestamp with time zone,
    CONSTRAINT api_keys_key_hash_chk CHECK ((octet_length(key_hash) = 32)),
    CONSTRAINT api_keys_scopes_chk CHECK ((cardinality(scopes) >= 1))
);


--
-- Name: audit_log; Type: TABLE; Schema: flowsync; Owner: -
--

CREATE TABLE flowsync.audit_log (
    id bigint NOT NULL,
    at timestamp with time zone DEFAULT now() NOT NULL,
    actor uuid,
    action text NOT NULL,
    subject text NOT NULL,
    details jsonb DEFAULT '{}'::jsonb NOT NULL
);


--
-- Name: audit_log_id_seq; Type: SEQUENCE; Schema: flowsync; Owner: -
--

ALTER TABLE flowsync.audit_log ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME flowsync.audit_log_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: dead_letters; Type: VIEW; Schema: flowsync; Owner: -
--

CREATE VIEW flowsync.dead_letters AS
 SELECT s.id AS step_id,
    s.execution_id,
    w.name AS workflow,
    e.version,
    s.node_id,
    (s.status)::text AS status,
    s.attempt,
    (s.error ->> 'message'::text) AS error_message,
    s.error,
    s.finished_at
   FROM ((flowsync.steps s
     JOIN flowsync.executions e ON ((e.id = s.execution_id)))
     JOIN flowsync.workflows w ON ((w.id = e.workflow_id)))
  WHERE (s.dead_lettered_at IS NOT NULL)
  ORDER BY s.dead_lettered_at DESC, s.id DESC;


--
-- Name: events; Type: TABLE; Schema: flowsync; Owner: -
--

CREATE TABLE flowsync.events (
    id text NOT NULL,
    type text NOT NULL,
    payload jsonb DEFAULT '{}'::jsonb NOT NULL,
    emitted_at timestamp with time zone DEFAULT now() NOT NULL,
    processed_at timestamp with time zone,
    CONSTRAINT events_id_chk CHECK (((length(id) >= 1) AND (length(id) <= 200))),
    CONSTRAINT events_type_chk CHECK (((length(type) <= 200) AND (type ~ '^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$'::text)))
);


--
-- Name: execution_events; Type: TABLE; Schema: flowsync; Owner: -
--

CREATE TABLE flowsync.execution_events (
    id bigint NOT NULL,
    execution_id uuid NOT NULL,
    at timestamp with time zone DEFAULT now() NOT NULL,
    kind text NOT NULL,
    detail jsonb DEFAULT '{}'::jsonb NOT NULL
);


--
-- Name: execution_events_id_seq; Type: SEQUENCE; Schema: flowsync; Owner: -
--

ALTER TABLE flowsync.execution_events ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME flowsync.execution_events_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: jobs; Type: TABLE; Schema: flowsync; Owner: -
--

CREATE TABLE flowsync.jobs (
    step_id bigint NOT NULL,
    queue text NOT NULL,
    run_at timestamp with time zone NOT NULL
)
WITH (autovacuum_vacuum_scale_factor='0.0', autovacuum_vacuum_threshold='5000', autovacuum_vacuum_insert_scale_factor='0.0', autovacuum_vacuum_insert_threshold='5000', autovacuum_analyze_scale_factor='0.05');


--
-- Name: leases; Type: TABLE; Schema: flowsync; Owner: -
--

CREATE TABLE flowsync.leases (
    step_id bigint NOT NULL,
    worker_id text NOT NULL,
    expires_at timestamp with time zone NOT NULL
)
WITH (autovacuum_vacuum_scale_factor='0.0', autovacuum_vacuum_threshold='5000', autovacuum_vacuum_insert_scale_factor='0.0', autovacuum_vacuum_insert_threshold='5000', autovacuum_analyze_scale_factor='0.05');


--
-- Name: queue_depth; Type: VIEW; Schema: flowsync; Owner: -
--

CREATE VIEW flowsync.queue_depth AS
 WITH waiting AS (
         SELECT j.queue,
            count(*) FILTER (WHERE (j.run_at <= now())) AS ready,
            count(*) FILTER (WHERE (j.run_at > now())) AS delayed,
            min(j.run_at) FILTER (WHERE (j.run_at <= now())) AS oldest_ready_at,
            min(j.run_at) FILTER (WHERE (j.run_at > now())) AS next_delayed_at
           FROM flowsync.jobs j
          GROUP BY j.queue
        ), running AS (
         SELECT n.queue,
            count(*) AS running
           FROM (((flowsync.leases l
             JOIN flowsync.steps s ON ((s.id = l.step_id)))
             JOIN flowsync.executions e ON ((e.id = s.execution_id)))
             JOIN flowsync.workflow_nodes n ON (((n.workflow_id = e.workflow_id) AND (n.version = e.version) AND (n.node_idx = s.node_idx))))
          GROUP BY n.queue
        )
 SELECT COALESCE(w.queue, r.queue) AS queue,
    COALESCE(w.ready, (0)::bigint) AS ready,
    COALESCE(w.delayed, (0)::bigint) AS delayed,
    COALESCE(r.running, (0)::bigint) AS running,
    (now() - w.oldest_ready_at) AS oldest_ready_age,
    (w.next_delayed_at - now()) AS next_due_in
   FROM (waiting w
     FULL JOIN running r ON ((r.queue = w.queue)))
  ORDER BY COALESCE(w.queue, r.queue);


--
-- Name: workers; Type: TABLE; Schema: flowsync; Owner: -
--

CREATE TABLE flowsync.workers (
    id text NOT NULL,
    hostname text NOT NULL,
    pid integer NOT NULL,
    queues text[] NOT NULL,
    concurrency integer NOT NULL,
    started_at timestamp with time zone DEFAULT now() NOT NULL,
    last_seen_at timestamp with time zone DEFAULT now() NOT NULL,
    stopped_at timestamp with time zone
);


--
-- Name: running_steps; Type: VIEW; Schema: flowsync; Owner: -
--

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
    (now() - s.started_at) AS lease_age,
    (l.expires_at - now()) AS lease_expires_in,
    wk.last_seen_at AS worker_last_seen_at
   FROM (((((flowsync.leases l
     JOIN flowsync.steps s ON ((s.id = l.step_id)))
     JOIN flowsync.executions e ON ((e.id = s.execution_id)))
     JOIN flowsync.workflows w ON ((w.id = e.workflow_id)))
     JOIN flowsync.workflow_nodes n ON (((n.workflow_id = e.workflow_id) AND (n.version = e.version) AND (n.node_idx = s.node_idx))))
     LEFT JOIN flowsync.workers wk ON ((wk.id = s.worker_id)))
  ORDER BY s.started_at, s.id;


--
-- Name: schedulers; Type: TABLE; Schema: flowsync; Owner: -
--

CREATE TABLE flowsync.schedulers (
    id text NOT NULL,
    hostname text NOT NULL,
    pid integer NOT NULL,
    backend_pid integer NOT NULL,
    started_at timestamp with time zone DEFAULT now() NOT NULL,
    last_seen_at timestamp with time zone DEFAULT now() NOT NULL,
    leader_since timestamp with time zone,
    last_tick_at timestamp with time zone,
    stopped_at timestamp with time zone,
    CONSTRAINT schedulers_stopped_chk CHECK (((stopped_at IS NULL) OR (leader_since IS NULL)))
);


--
-- Name: scheduler_status; Type: VIEW; Schema: flowsync; Owner: -
--

CREATE VIEW flowsync.scheduler_status AS
 SELECT id,
    hostname,
    pid,
        CASE
            WHEN (stopped_at IS NOT NULL) THEN 'stopped'::text
            WHEN ((leader_since IS NOT NULL) AND (backend_pid = flowsync.scheduler_lock_holder())) THEN 'leading'::text
            WHEN (leader_since IS NOT NULL) THEN 'gone'::text
            WHEN ((last_seen_at > (now() - '00:00:15'::interval)) AND (EXISTS ( SELECT 1
               FROM pg_stat_activity a
              WHERE (a.pid = s.backend_pid)))) THEN 'following'::text
            ELSE 'gone'::text
        END AS state,
    leader_since,
    last_tick_at,
    (now() - last_tick_at) AS last_tick_age,
    started_at,
    last_seen_at,
    stopped_at
   FROM flowsync.schedulers s
  ORDER BY (leader_since IS NULL), last_seen_at DESC;


--
-- Name: schema_migrations; Type: TABLE; Schema: flowsync; Owner: -
--

CREATE TABLE flowsync.schema_migrations (
    version integer NOT NULL,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamp with time zone DEFAULT now() NOT NULL
);


--
-- Name: step_attempts; Type: TABLE; Schema: flowsync; Owner: -
--

CREATE TABLE flowsync.step_attempts (
    id bigint NOT NULL,
    step_id bigint NOT NULL,
    execution_id uuid NOT NULL,
    attempt integer NOT NULL,
    outcome text NOT NULL,
    error jsonb,
    worker_id text,
    queued_at timestamp with time zone,
    started_at timestamp with time zone,
    ended_at timestamp with time zone NOT NULL,
    CONSTRAINT step_attempts_outcome_chk CHECK ((outcome = ANY (ARRAY['retry'::text, 'lease_expired'::text, 'failed'::text, 'dead'::text, 'snoozed'::text, 'handed_back'::text, 'cancelled'::text])))
);


--
-- Name: step_attempts_id_seq; Type: SEQUENCE; Schema: flowsync; Owner: -
--

ALTER TABLE flowsync.step_attempts ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME flowsync.step_attempts_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: step_logs; Type: TABLE; Schema: flowsync; Owner: -
--

CREATE TABLE flowsync.step_logs (
    id bigint NOT NULL,
    execution_id uuid NOT NULL,
    step_id bigint NOT NULL,
    attempt integer NOT NULL,
    at timestamp with time zone NOT NULL,
    level text NOT NULL,
    message text NOT NULL,
    fields jsonb DEFAULT '{}'::jsonb NOT NULL
);


--
-- Name: step_logs_id_seq; Type: SEQUENCE; Schema: flowsync; Owner: -
--

ALTER TABLE flowsync.step_logs ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME flowsync.step_logs_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: steps_id_seq; Type: SEQUENCE; Schema: flowsync; Owner: -
--

ALTER TABLE flowsync.steps ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME flowsync.steps_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: trigger_fires; Type: TABLE; Schema: flowsync; Owner: -
--

CREATE TABLE flowsync.trigger_fires (
    id bigint NOT NULL,
    trigger_id uuid NOT NULL,
    dedupe_key text,
    scheduled_for timestamp with time zone,
    execution_id uuid,
    error text,
    fired_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT trigger_fires_dedupe_key_chk CHECK (((length(dedupe_key) >= 1) AND (length(dedupe_key) <= 210))),
    CONSTRAINT trigger_fires_outcome_chk CHECK (((execution_id IS NULL) OR (error IS NULL)))
);


--
-- Name: trigger_fire_history; Type: VIEW; Schema: flowsync; Owner: -
--

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
   FROM (((flowsync.trigger_fires f
     JOIN flowsync.triggers t ON ((t.id = f.trigger_id)))
     JOIN flowsync.workflows w ON ((w.id = t.workflow_id)))
     LEFT JOIN flowsync.executions e ON ((e.id = f.execution_id)))
  ORDER BY f.fired_at DESC, f.id DESC;


--
-- Name: trigger_fires_id_seq; Type: SEQUENCE; Schema: flowsync; Owner: -
--

ALTER TABLE flowsync.trigger_fires ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME flowsync.trigger_fires_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: worker_status; Type: VIEW; Schema: flowsync; Owner: -
--

CREATE VIEW flowsync.worker_status AS
 SELECT wk.id,
    wk.hostname,
    wk.pid,
    wk.queues,
    wk.concurrency,
        CASE
            WHEN (wk.stopped_at IS NOT NULL) THEN 'stopped'::text
            WHEN (h.expired > 0) THEN 'unresponsive'::text
            WHEN (h.running > 0) THEN 'busy'::text
            ELSE 'idle'::text
        END AS state,
    h.running,
    wk.started_at,
    wk.last_seen_at,
    wk.stopped_at
   FROM (flowsync.workers wk
     CROSS JOIN LATERAL ( SELECT count(*) AS running,
            count(*) FILTER (WHERE (l.expires_at < now())) AS expired
           FROM flowsync.leases l
          WHERE (l.worker_id = wk.id)) h)
  ORDER BY (wk.stopped_at IS NOT NULL), wk.started_at DESC;


--
-- Name: workflow_edges; Type: TABLE; Schema: flowsync; Owner: -
--

CREATE TABLE flowsync.workflow_edges (
    workflow_id bigint NOT NULL,
    version integer NOT NULL,
    from_idx integer NOT NULL,
    to_idx integer NOT NULL,
    when_value jsonb
);


--
-- Name: workflow_versions; Type: TABLE; Schema: flowsync; Owner: -
--

CREATE TABLE flowsync.workflow_versions (
    workflow_id bigint NOT NULL,
    version integer NOT NULL,
    definition jsonb NOT NULL,
    checksum text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    created_by uuid,
    CONSTRAINT workflow_versions_checksum_chk CHECK ((checksum ~ '^[0-9a-f]{64}$'::text)),
    CONSTRAINT workflow_versions_version_chk CHECK ((version >= 1))
);


--
-- Name: workflows_id_seq; Type: SEQUENCE; Schema: flowsync; Owner: -
--

ALTER TABLE flowsync.workflows ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME flowsync.workflows_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: api_keys api_keys_key_hash_key; Type: CONSTRAINT; Schema: flowsync; Owner: -
--

ALTER TABLE ONLY flowsync.api_keys
    ADD CONSTRAINT api_keys_key_hash_key UNIQUE (key_hash);


--
-- Name: api_keys api_keys_pkey; Type: CONSTRAINT; Schema: flowsync; Owner: -
--

ALTER TABLE ONLY flowsync.api_keys
    ADD CONSTRAINT api_keys_pkey PRIMARY KEY (id);


--
-- Name: audit_log audit_log_pkey; Type: CONSTRAINT; Schema: flowsync; Owner: -
--

ALTER TABLE ONLY flowsync.audit_log
    ADD CONSTRAINT audit_log_pkey PRIMARY KEY (id);


--
-- Name: events events_pkey; Type: CONSTRAINT; Schema: flowsync; Owner: -
--

ALTER TABLE ONLY flowsync.events
    ADD CONSTRAINT events_pkey PRIMARY KEY (id);


--
-- Name: execution_events execution_events_pkey; Type: CONSTRAINT; Schema: flowsync; Owner: -
--

ALTER TABLE ONLY flowsync.execution_events
    ADD CONSTRAINT execution_events_pkey PRIMARY KEY (id);


--
-- Name: executions executions_pkey; Type: CONSTRAINT; Schema: flowsync; Owner: -
--

ALTER TABLE ONLY flowsync.executions
    ADD CONSTRAINT executions_pkey PRIMARY KEY (id);


--
-- Name: jobs jobs_pkey; Type: CONSTRAINT; Schema: flowsync; Owner: -
--

ALTER TABLE ONLY flowsync.jobs
    ADD CONSTRAINT jobs_pkey PRIMARY KEY (step_id);


--
-- Name: leases leases_pkey; Type: CONSTRAINT; Schema: flowsync; Owner: -
--

ALTER TABLE ONLY flowsync.leases
    ADD CONSTRAINT leases_pkey PRIMARY KEY (step_id);


--
-- Name: schedulers schedulers_pkey; Type: CONSTRAINT; Schema: flowsync; Owner: -
--

ALTER TABLE ONLY flowsync.schedulers
    ADD CONSTRAINT schedulers_pkey PRIMARY KEY (id);


--
-- Name: schema_migrations schema_migrations_pkey; Type: CONSTRAINT; Schema: flowsync; Owner: -
--

ALTER TABLE ONLY flowsync.schema_migrations
    ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (version);


--
-- Name: step_attempts step_attempts_pkey; Type: CONSTRAINT; Schema: flowsync; Owner: -
--

ALTER TABLE ONLY flowsync.step_attempts
    ADD CONSTRAINT step_attempts_pkey PRIMARY KEY (id);


--
-- Name: step_logs step_logs_pkey; Type: CONSTRAINT; Schema: flowsync; Owner: -
--

ALTER TABLE ONLY flowsync.step_logs
    ADD CONSTRAINT step_logs_pkey PRIMARY KEY (id);


--
-- Name: steps steps_execution_node_key; Type: CONSTRAINT; Schema: flowsync; Owner: -
--

ALTER TABLE ONLY flowsync.steps
    ADD CONSTRAINT steps_execution_node_key UNIQUE (execution_id, node_idx);


--
-- Name: steps steps_pkey; Type: CONSTRAINT; Schema: flowsync; Owner: -
--

ALTER TABLE ONLY flowsync.steps
    ADD CONSTRAINT steps_pkey PRIMARY KEY (id);


--
-- Name: trigger_fires trigger_fires_dedupe_key; Type: CONSTRAINT; Schema: flowsync; Owner: -
--

ALTER TABLE ONLY flowsync.trigger_fires
    ADD CONSTRAINT trigger_fires_dedupe_key UNIQUE (trigger_id, dedupe_key);


--
-- Name: trigger_fires trigger_fires_pkey; Type: CONSTRAINT; Schema: flowsync; Owner: -
--

ALTER TABLE ONLY flowsync.trigger_fires
    ADD CONSTRAINT trigger_fires_pkey PRIMARY KEY (id);


--
-- Name: triggers triggers_hook_key_key; Type: CONSTRAINT; Schema: flowsync; Owner: -
--

ALTER TABLE ONLY flowsync.triggers
    ADD CONSTRAINT triggers_hook_key_key UNIQUE (hook_key);


--
-- Name: triggers triggers_pkey; Type: CONSTRAINT; Schema: flowsync; Owner: -
--

ALTER TABLE ONLY flowsync.triggers
    ADD CONSTRAINT triggers_pkey PRIMARY KEY (id);


--
-- Name: workers workers_pkey; Type: CONSTRAINT; Schema: flowsync; Owner: -
--

ALTER TABLE ONLY flowsync.workers
    ADD CONSTRAINT workers_pkey PRIMARY KEY (id);


--
-- Name: workflow_edges workflow_edges_pkey; Type: CONSTRAINT; Schema: flowsync; Owner: -
--

ALTER TABLE ONLY flowsync.workflow_edges
    ADD CONSTRAINT workflow_edges_pkey PRIMARY KEY (workflow_id, version, from_idx, to_idx);


--
-- Name: workflow_nodes workflow_nodes_node_id_key; Type: CONSTRAINT; Schema: flowsync; Owner: -
--

ALTER TABLE ONLY flowsync.workflow_nodes
    ADD CONSTRAINT workflow_nodes_node_id_key UNIQUE (node_id, workflow_id, version);


--
-- Name: workflow_nodes workflow_nodes_pkey; Type: CONSTRAINT; Schema: flowsync; Owner: -
--

ALTER TABLE ONLY flowsync.workflow_nodes
    ADD CONSTRAINT workflow_nodes_pkey PRIMARY KEY (workflow_id, version, node_idx);


--
-- Name: workflow_versions workflow_versions_pkey; Type: CONSTRAINT; Schema: flowsync; Owner: -
--

ALTER TABLE ONLY flowsync.workflow_versions
    ADD CONSTRAINT workflow_versions_pkey PRIMARY KEY (workflow_id, version);


--
-- Name: workflows workflows_name_key; Type: CONSTRAINT; Schema: flowsync; Owner: -
--

ALTER TABLE ONLY flowsync.workflows
    ADD CONSTRAINT workflows_name_key UNIQUE (name);


--
-- Name: workflows workflows_pkey; Type: CONSTRAINT; Schema: flowsync; Owner: -
--

ALTER TABLE ONLY flowsync.workflows
    ADD CONSTRAINT workflows_pkey PRIMARY KEY (id);


--
-- Name: audit_log_subject_idx; Type: INDEX; Schema: flowsync; Owner: -
--

CREATE INDEX audit_log_subject_idx ON flowsync.audit_log USING btree (subject, at);


--
-- Name: events_pending_idx; Type: INDEX; Schema: flowsync; Owner: -
--

CREATE INDEX events_pending_idx ON flowsync.events USING btree (emitted_at, id) WHERE (processed_at IS NULL);


--
-- Name: events_processed_at_idx; Type: INDEX; Schema: flowsync; Owner: -
--

CREATE INDEX events_processed_at_idx ON flowsync.events USING btree (processed_at) WHERE (processed_at IS NOT NULL);


--
-- Name: execution_events_execution_idx; Type: INDEX; Schema: flowsync; Owner: -
--

CREATE INDEX execution_events_execution_idx ON flowsync.execution_events USING btree (execution_id, id);


--
-- Name: executions_created_at_idx; Type: INDEX; Schema: flowsync; Owner: -
--

CREATE INDEX executions_created_at_idx ON flowsync.executions USING btree (created_at DESC, id DESC);


--
-- Name: executions_idempotency_key_idx; Type: INDEX; Schema: flowsync; Owner: -
--

CREATE UNIQUE INDEX executions_idempotency_key_idx ON flowsync.executions USING btree (workflow_id, idempotency_key) WHERE (idempotency_key IS NOT NULL);


--
-- Name: executions_workflow_created_at_idx; Type: INDEX; Schema: flowsync; Owner: -
--

CREATE INDEX executions_workflow_created_at_idx ON flowsync.executions USING btree (workflow_id, created_at DESC, id DESC);


--
-- Name: jobs_claim_idx; Type: INDEX; Schema: flowsync; Owner: -
--

CREATE INDEX jobs_claim_idx ON flowsync.jobs USING btree (queue, run_at, step_id);


--
-- Name: schedulers_one_leader_idx; Type: INDEX; Schema: flowsync; Owner: -
--

CREATE UNIQUE INDEX schedulers_one_leader_idx ON flowsync.schedulers USING btree ((true)) WHERE (leader_since IS NOT NULL);


--
-- Name: step_attempts_execution_idx; Type: INDEX; Schema: flowsync; Owner: -
--

CREATE INDEX step_attempts_execution_idx ON flowsync.step_attempts USING btree (execution_id, id);


--
-- Name: step_attempts_step_idx; Type: INDEX; Schema: flowsync; Owner: -
--

CREATE INDEX step_attempts_step_idx ON flowsync.step_attempts USING btree (step_id);


--
-- Name: step_logs_step_idx; Type: INDEX; Schema: flowsync; Owner: -
--

CREATE INDEX step_logs_step_idx ON flowsync.step_logs USING btree (execution_id, step_id, id);


--
-- Name: steps_dead_letters_idx; Type: INDEX; Schema: flowsync; Owner: -
--

CREATE INDEX steps_dead_letters_idx ON flowsync.steps USING btree (dead_lettered_at DESC, id DESC) WHERE (dead_lettered_at IS NOT NULL);


--
-- Name: trigger_fires_fired_at_idx; Type: INDEX; Schema: flowsync; Owner: -
--

CREATE INDEX trigger_fires_fired_at_idx ON flowsync.trigger_fires USING btree (fired_at, id);


--
-- Name: trigger_fires_trigger_idx; Type: INDEX; Schema: flowsync; Owner: -
--

CREATE INDEX trigger_fires_trigger_idx ON flowsync.trigger_fires USING btree (trigger_id, fired_at DESC);


--
-- Name: triggers_created_at_idx; Type: INDEX; Schema: flowsync; Owner: -
--

CREATE INDEX triggers_created_at_idx ON flowsync.triggers USING btree (created_at, id);


--
-- Name: triggers_due_idx; Type: INDEX; Schema: flowsync; Owner: -
--

CREATE INDEX triggers_due_idx ON flowsync.triggers USING btree (next_fire_at) WHERE ((kind = 'cron'::text) AND enabled);


--
-- Name: triggers_event_type_idx; Type: INDEX; Schema: flowsync; Owner: -
--

CREATE INDEX triggers_event_type_idx ON flowsync.triggers USING btree (event_type) WHERE ((kind = 'event'::text) AND enabled);


--
-- Name: triggers_workflow_idx; Type: INDEX; Schema: flowsync; Owner: -
--

CREATE INDEX triggers_workflow_idx ON flowsync.triggers USING btree (workflow_id, created_at, id);


--
-- Name: workflow_nodes_leaves_idx; Type: INDEX; Schema: flowsync; Owner: -
--

CREATE INDEX workflow_nodes_leaves_idx ON flowsync.workflow_nodes USING btree (workflow_id, version, node_idx) WHERE is_leaf;


--
-- Name: workflow_versions workflow_versions_immutable; Type: TRIGGER; Schema: flowsync; Owner: -
--

CREATE TRIGGER workflow_versions_immutable BEFORE DELETE OR UPDATE ON flowsync.workflow_versions FOR EACH ROW EXECUTE FUNCTION flowsync.forbid_version_change();


--
-- Name: execution_events execution_events_execution_id_fkey; Type: FK CONSTRAINT; Schema: flowsync; Owner: -
--

ALTER TABLE ONLY flowsync.execution_events
    ADD CONSTRAINT execution_events_execution_id_fkey FOREIGN KEY (execution_id) REFERENCES flowsync.executions(id) ON DELETE CASCADE;


--
-- Name: executions executions_workflow_id_version_fkey; Type: FK CONSTRAINT; Schema: flowsync; Owner: -
--

ALTER TABLE ONLY flowsync.executions
    ADD CONSTRAINT executions_workflow_id_version_fkey FOREIGN KEY (workflow_id, version) REFERENCES flowsync.workflow_versions(workflow_id, version);


--
-- Name: step_attempts step_attempts_step_id_fkey; Type: FK CONSTRAINT; Schema: flowsync; Owner: -
--

ALTER TABLE ONLY flowsync.step_attempts
    ADD CONSTRAINT step_attempts_step_id_fkey FOREIGN KEY (step_id) REFERENCES flowsync.steps(id) ON DELETE CASCADE;


--
-- Name: step_logs step_logs_execution_id_fkey; Type: FK CONSTRAINT; Schema: flowsync; Owner: -
--

ALTER TABLE ONLY flowsync.step_logs
    ADD CONSTRAINT step_logs_execution_id_fkey FOREIGN KEY (execution_id) REFERENCES flowsync.executions(id) ON DELETE CASCADE;


--
-- Name: steps steps_execution_id_fkey; Type: FK CONSTRAINT; Schema: flowsync; Owner: -
--

ALTER TABLE ONLY flowsync.steps
    ADD CONSTRAINT steps_execution_id_fkey FOREIGN KEY (execution_id) REFERENCES flowsync.executions(id) ON DELETE CASCADE;


--
-- Name: trigger_fires trigger_fires_trigger_id_fkey; Type: FK CONSTRAINT; Schema: flowsync; Owner: -
--

ALTER TABLE ONLY flowsync.trigger_fires
    ADD CONSTRAINT trigger_fires_trigger_id_fkey FOREIGN KEY (trigger_id) REFERENCES flowsync.triggers(id) ON DELETE CASCADE;


--
-- Name: triggers triggers_workflow_id_fkey; Type: FK CONSTRAINT; Schema: flowsync; Owner: -
--

ALTER TABLE ONLY flowsync.triggers
    ADD CONSTRAINT triggers_workflow_id_fkey FOREIGN KEY (workflow_id) REFERENCES flowsync.workflows(id);


--
-- Name: workflow_edges workflow_edges_workflow_id_version_from_idx_fkey; Type: FK CONSTRAINT; Schema: flowsync; Owner: -
--

ALTER TABLE ONLY flowsync.workflow_edges
    ADD CONSTRAINT workflow_edges_workflow_id_version_from_idx_fkey FOREIGN KEY (workflow_id, version, from_idx) REFERENCES flowsync.workflow_nodes(workflow_id, version, node_idx);


--
-- Name: workflow_edges workflow_edges_workflow_id_version_to_idx_fkey; Type: FK CONSTRAINT; Schema: flowsync; Owner: -
--

ALTER TABLE ONLY flowsync.workflow_edges
    ADD CONSTRAINT workflow_edges_workflow_id_version_to_idx_fkey FOREIGN KEY (workflow_id, version, to_idx) REFERENCES flowsync.workflow_nodes(workflow_id, version, node_idx);


--
-- Name: workflow_nodes workflow_nodes_workflow_id_version_fkey; Type: FK CONSTRAINT; Schema: flowsync; Owner: -
--

ALTER TABLE ONLY flowsync.workflow_nodes
    ADD CONSTRAINT workflow_nodes_workflow_id_version_fkey FOREIGN KEY (workflow_id, version) REFERENCES flowsync.workflow_versions(workflow_id, version);


--
-- Name: workflow_versions workflow_versions_workflow_id_fkey; Type: FK CONSTRAINT; Schema: flowsync; Owner: -
--

ALTER TABLE ONLY flowsync.workflow_versions
    ADD CONSTRAINT workflow_versions_workflow_id_fkey FOREIGN KEY (workflow_id) REFERENCES flowsync.workflows(id);


--
-- PostgreSQL database dump complete
--
