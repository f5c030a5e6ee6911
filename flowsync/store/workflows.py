"""Workflows, their versions, and API keys."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

import msgspec

from flowsync.definition import WorkflowDefinition, canonical_json, definition_checksum
from flowsync.definition.plan import build_plan
from flowsync.keys import Scope

if TYPE_CHECKING:
    from flowsync.store.errors import Connection


class SavedVersion(msgspec.Struct, frozen=True):
    workflow_id: int
    version: int
    created: bool


class WorkflowSummary(msgspec.Struct, frozen=True):
    name: str
    latest_version: int
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None


class WorkflowVersion(msgspec.Struct, frozen=True):
    name: str
    version: int
    checksum: str
    created_at: datetime
    definition: dict[str, Any]


class VersionInfo(msgspec.Struct, frozen=True):
    version: int
    checksum: str
    created_at: datetime


class ApiKeyIdentity(msgspec.Struct, frozen=True):
    id: UUID
    scopes: list[str]


async def save_workflow_version(
    db: Connection, definition: WorkflowDefinition, actor: UUID | None
) -> SavedVersion:
    """Store a validated definition (and its plan) as a new version unless it is unchanged."""
    row = await db.fetchrow(
        "SELECT * FROM flowsync.save_workflow_version($1, $2, $3, $4, $5)",
        definition.name,
        msgspec.json.decode(canonical_json(definition)),
        definition_checksum(definition),
        msgspec.to_builtins(build_plan(definition)),
        actor,
    )
    assert row is not None
    return SavedVersion(row["workflow_id"], row["version"], row["created"])


async def set_workflow_archived(
    db: Connection, name: str, archived: bool, actor: UUID | None
) -> bool:
    found: bool = await db.fetchval(
        "SELECT flowsync.set_workflow_archived($1, $2, $3)", name, archived, actor
    )
    return found


async def get_workflow(db: Connection, name: str) -> WorkflowSummary | None:
    row = await db.fetchrow(
        "SELECT name, latest_version, created_at, updated_at, archived_at "
        "FROM flowsync.workflows WHERE name = $1",
        name,
    )
    return None if row is None else WorkflowSummary(**dict(row))


async def list_workflows(
    db: Connection, *, after: str | None, limit: int, include_archived: bool
) -> list[WorkflowSummary]:
    rows = await db.fetch(
        "SELECT name, latest_version, created_at, updated_at, archived_at "
        "FROM flowsync.workflows "
        "WHERE ($1::text IS NULL OR name > $1) AND ($3 OR archived_at IS NULL) "
        "ORDER BY name LIMIT $2",
        after,
        limit,
        include_archived,
    )
    return [WorkflowSummary(**dict(row)) for row in rows]


async def get_workflow_version(
    db: Connection, name: str, version: int | None = None
) -> WorkflowVersion | None:
    """A stored version; the latest one when `version` is None."""
    row = await db.fetchrow(
        "SELECT w.name, v.version, v.checksum, v.created_at, v.definition "
        "FROM flowsync.workflows w JOIN flowsync.workflow_versions v ON v.workflow_id = w.id "
        "WHERE w.name = $1 AND v.version = coalesce($2, w.latest_version)",
        name,
        version,
    )
    return None if row is None else WorkflowVersion(**dict(row))


async def list_workflow_versions(
    db: Connection, name: str, *, before: int | None, limit: int
) -> list[VersionInfo]:
    rows = await db.fetch(
        "SELECT v.version, v.checksum, v.created_at "
        "FROM flowsync.workflows w JOIN flowsync.workflow_versions v ON v.workflow_id = w.id "
        "WHERE w.name = $1 AND ($2::int IS NULL OR v.version < $2) "
        "ORDER BY v.version DESC LIMIT $3",
        name,
        before,
        limit,
    )
    return [VersionInfo(**dict(row)) for row in rows]


async def create_api_key(
    db: Connection, key_hash: bytes, prefix: str, scopes: list[Scope], name: str = ""
) -> UUID:
    key_id: UUID = await db.fetchval(
        "SELECT flowsync.create_api_key($1, $2, $3::flowsync.api_scope[], $4)",
        key_hash,
        prefix,
        scopes,
        name,
    )
    return key_id


async def authenticate_api_key(db: Connection, key_hash: bytes) -> ApiKeyIdentity | None:
    row = await db.fetchrow(
        "SELECT id, scopes::text[] AS scopes FROM flowsync.authenticate_api_key($1)", key_hash
    )
    return None if row is None else ApiKeyIdentity(row["id"], list(row["scopes"]))


async def count_api_keys(db: Connection) -> int:
    count: int = await db.fetchval(
        "SELECT count(*) FROM flowsync.api_keys WHERE revoked_at IS NULL"
    )
    return count


async def ping(db: Connection) -> None:
    await db.fetchval("SELECT 1")
