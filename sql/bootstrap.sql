-- Run by the migrator before anything else, under its advisory lock: the bookkeeping table.
CREATE SCHEMA IF NOT EXISTS flowsync;

CREATE TABLE IF NOT EXISTS flowsync.schema_migrations (
    version     integer PRIMARY KEY,
    name        text        NOT NULL,
    checksum    text        NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
);
