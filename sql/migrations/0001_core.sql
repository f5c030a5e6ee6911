-- Workflows and their immutable versions, API keys, and the audit trail.

CREATE TABLE flowsync.workflows (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name            text        NOT NULL,
    latest_version  integer     NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    archived_at     timestamptz,
    CONSTRAINT workflows_name_key UNIQUE (name),
    CONSTRAINT workflows_name_chk CHECK (name ~ '^[a-z0-9][a-z0-9_.-]{0,99}$'),
    CONSTRAINT workflows_latest_version_chk CHECK (latest_version >= 0)
);

-- A version row is never updated or deleted: executions pin the version they started with.
CREATE TABLE flowsync.workflow_versions (
    workflow_id     bigint      NOT NULL REFERENCES flowsync.workflows (id),
    version         integer     NOT NULL,
    definition      jsonb       NOT NULL,
    checksum        text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    created_by      uuid,
    PRIMARY KEY (workflow_id, version),
    CONSTRAINT workflow_versions_version_chk CHECK (version >= 1),
    CONSTRAINT workflow_versions_checksum_chk CHECK (checksum ~ '^[0-9a-f]{64}$')
);

CREATE FUNCTION flowsync.forbid_version_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'workflow versions are immutable (workflow_id %, version %)',
        OLD.workflow_id, OLD.version
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$;

CREATE TRIGGER workflow_versions_immutable
    BEFORE UPDATE OR DELETE ON flowsync.workflow_versions
    FOR EACH ROW EXECUTE FUNCTION flowsync.forbid_version_change();

CREATE TYPE flowsync.api_scope AS ENUM ('admin', 'write', 'read');

-- Keys are 256-bit random tokens, so a plain SHA-256 is a safe, fast lookup hash.
CREATE TABLE flowsync.api_keys (
    id              uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    name            text        NOT NULL DEFAULT '',
    prefix          text        NOT NULL,
    key_hash        bytea       NOT NULL,
    scopes          flowsync.api_scope[] NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_used_at    timestamptz,
    revoked_at      timestamptz,
    CONSTRAINT api_keys_key_hash_key UNIQUE (key_hash),
    CONSTRAINT api_keys_key_hash_chk CHECK (octet_length(key_hash) = 32),
    CONSTRAINT api_keys_scopes_chk CHECK (cardinality(scopes) >= 1)
);

CREATE TABLE flowsync.audit_log (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at              timestamptz NOT NULL DEFAULT now(),
    actor           uuid,
    action          text        NOT NULL,
    subject         text        NOT NULL,
    details         jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_subject_idx ON flowsync.audit_log (subject, at);
