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
-- Name: save_workflow_version(text, jsonb, text, uuid, timestamp with time zone); Type: FUNCTION; Schema: flowsync; Owner: -
--

CREATE FUNCTION flowsync.save_workflow_version(p_name text, p_definition jsonb, p_checksum text, p_actor uuid DEFAULT NULL::uuid, p_now timestamp with time zone DEFAULT now()) RETURNS TABLE(workflow_id bigint, version integer, created boolean)
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


SET default_tablespace = '';

SET default_table_access_method = heap;

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
-- Name: schema_migrations; Type: TABLE; Schema: flowsync; Owner: -
--

CREATE TABLE flowsync.schema_migrations (
    version integer NOT NULL,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamp with time zone DEFAULT now() NOT NULL
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
-- Name: schema_migrations schema_migrations_pkey; Type: CONSTRAINT; Schema: flowsync; Owner: -
--

ALTER TABLE ONLY flowsync.schema_migrations
    ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (version);


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
-- Name: workflow_versions workflow_versions_immutable; Type: TRIGGER; Schema: flowsync; Owner: -
--

CREATE TRIGGER workflow_versions_immutable BEFORE DELETE OR UPDATE ON flowsync.workflow_versions FOR EACH ROW EXECUTE FUNCTION flowsync.forbid_version_change();


--
-- Name: workflow_versions workflow_versions_workflow_id_fkey; Type: FK CONSTRAINT; Schema: flowsync; Owner: -
--

ALTER TABLE ONLY flowsync.workflow_versions
    ADD CONSTRAINT workflow_versions_workflow_id_fkey FOREIGN KEY (workflow_id) REFERENCES flowsync.workflows(id);


--
-- PostgreSQL database dump complete
--
