"""Triggers: CRUD, firing (with dedupe), the event inbox, retention, and pgmq queue calls."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

import asyncpg
import msgspec

from flowsync.store.errors import StoreError, translate

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    from flowsync.store.errors import Connection as _Connection

    # The duties run several calls in one transaction on a connection taken from a pool.
    Connection = _Connection | PoolConnectionProxy[Any]


class InvalidEvent(StoreError):
    """emit_event refused the event's type or id (SQLSTATE FS010)."""


class TriggerRow(msgspec.Struct, frozen=True):
    id: UUID
    workflow: str
    kind: str
    enabled: bool
    config: dict[str, Any]
    input_mapping: str | None
    hook_key: str | None
    event_type: str | None
    next_fire_at: datetime | None
    created_at: datetime
    updated_at: datetime


class WebhookTarget(msgspec.Struct, frozen=True):
    """What /hooks/{key} needs: the trigger, its config and its secret."""

    id: UUID
    workflow: str
    enabled: bool
    config: dict[str, Any]
    input_mapping: str | None
    secret: str


class FireResult(msgspec.Struct, frozen=True):
    result: str  # started | duplicate | failed | not_found
    execution_id: UUID | None
    error: str | None


class ClaimedEvent(msgspec.Struct, frozen=True):
    """An unprocessed event locked by this transaction, with one matching trigger (or none)."""

    event_id: str
    event_type: str
    payload: Any
    emitted_at: datetime
    trigger_id: UUID | None
    workflow: str | None
    config: dict[str, Any] | None
    input_mapping: str | None


class QueueMessage(msgspec.Struct, frozen=True):
    msg_id: int
    read_ct: int
    enqueued_at: datetime
    message: Any
    headers: Any


_COLUMNS = (
    "t.id, w.name AS workflow, t.kind, t.enabled, t.config, t.input_mapping, t.hook_key, "
    "t.event_type, t.next_fire_at, t.created_at, t.updated_at"
)


async def create_trigger(
    db: Connection,
    *,
    workflow: str,
    kind: str,
    enabled: bool,
    config: dict[str, Any],
    input_mapping: str | None,
    hook_key: str | None,
    secret: str | None,
    event_type: str | None,
    next_fire_at: datetime | None,
    actor: UUID | None,
) -> UUID:
    """The new trigger's id. Raises WorkflowNotFound, WorkflowArchived."""
    try:
        trigger_id: UUID = await db.fetchval(
            "SELECT flowsync.trigger_create($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            workflow,
            kind,
            enabled,
            config,
            input_mapping,
            hook_key,
            secret,
            event_type,
            next_fire_at,
            actor,
        )
    except asyncpg.PostgresError as exc:
        raise translate(exc) from None
    return trigger_id


async def update_trigger(
    db: Connection,
    trigger_id: UUID,
    *,
    enabled: bool,
    config: dict[str, Any],
    input_mapping: str | None,
    event_type: str | None,
    next_fire_at: datetime | None,
    actor: UUID | None,
) -> bool:
    found: bool = await db.fetchval(
        "SELECT flowsync.trigger_update($1, $2, $3, $4, $5, $6, $7)",
        trigger_id,
        enabled,
        config,
        input_mapping,
        event_type,
        next_fire_at,
        actor,
    )
    return found


async def delete_trigger(db: Connection, trigger_id: UUID, actor: UUID | None) -> bool:
    found: bool = await db.fetchval("SELECT flowsync.trigger_delete($1, $2)", trigger_id, actor)
    return found


async def get_trigger(
    db: Connection, trigger_id: UUID, *, for_update: bool = False
) -> TriggerRow | None:
    """`for_update`: lock the row until the caller's transaction ends (read-change-write)."""
    lock = " FOR NO KEY UPDATE OF t" if for_update else ""
    row = await db.fetchrow(
        f"SELECT {_COLUMNS} FROM flowsync.triggers t "
        f"JOIN flowsync.workflows w ON w.id = t.workflow_id WHERE t.id = $1{lock}",
        trigger_id,
    )
    return None if row is None else TriggerRow(**dict(row))


async def list_triggers(
    db: Connection,
    *,
    workflow: str | None,
    cursor: tuple[datetime, UUID] | None,
    limit: int,
) -> list[TriggerRow]:
    """Oldest first; `cursor` is the (created_at, id) of the last row of the previous page."""
    rows = await db.fetch(
        f"SELECT {_COLUMNS} FROM flowsync.triggers t "
        "JOIN flowsync.workflows w ON w.id = t.workflow_id "
        "WHERE ($1::text IS NULL OR w.name = $1) "
        "AND ($2::timestamptz IS NULL OR (t.created_at, t.id) > ($2, $3::uuid)) "
        "ORDER BY t.created_at, t.id LIMIT $4",
        workflow,
        cursor[0] if cursor else None,
        cursor[1] if cursor else None,
        limit,
    )
    return [TriggerRow(**dict(row)) for row in rows]


async def webhook_by_key(db: Connection, hook_key: str) -> WebhookTarget | None:
    row = await db.fetchrow(
        "SELECT t.id, w.name AS workflow, t.enabled, t.config, t.input_mapping, t.secret "
        "FROM flowsync.triggers t JOIN flowsync.workflows w ON w.id = t.workflow_id "
        "WHERE t.hook_key = $1 AND t.kind = 'webhook'",
        hook_key,
    )
    return None if row is None else WebhookTarget(**dict(row))


async def fire_trigger(
    db: Connection,
    trigger_id: UUID,
    dedupe_key: str | None,
    input: Any,
    *,
    error: str | None = None,
    scheduled_for: datetime | None = None,
) -> FireResult:
    """Record a fire and start its execution, or find the fire of the same dedupe key."""
    row = await db.fetchrow(
        "SELECT result, execution_id, error FROM flowsync.fire_trigger($1, $2, $3, $4, $5)",
        trigger_id,
        dedupe_key,
        input,
        error,
        scheduled_for,
    )
    assert row is not None
    return FireResult(row["result"], row["execution_id"], row["error"])


async def claim_due_cron(db: Connection, limit: int, now: datetime) -> list[TriggerRow]:
    """Lock due cron triggers for this transaction (others skip them)."""
    rows = await db.fetch(
        f"SELECT {_COLUMNS} FROM flowsync.trigger_claim_due($1, $2) t "
        "JOIN flowsync.workflows w ON w.id = t.workflow_id",
        limit,
        now,
    )
    return [TriggerRow(**dict(row)) for row in rows]


async def advance_trigger(db: Connection, trigger_id: UUID, next_fire_at: datetime) -> None:
    await db.execute("SELECT flowsync.trigger_advance($1, $2)", trigger_id, next_fire_at)


async def claim_pgmq_triggers(db: Connection, limit: int) -> list[TriggerRow]:
    """Lock enabled pgmq triggers for this transaction (other consumers skip them)."""
    rows = await db.fetch(
        f"SELECT {_COLUMNS} FROM flowsync.trigger_claim_pgmq($1) t "
        "JOIN flowsync.workflows w ON w.id = t.workflow_id",
        limit,
    )
    return [TriggerRow(**dict(row)) for row in rows]


# -- events ----------------------------------------------------------------------------------


async def emit_event(
    db: Connection, event_type: str, payload: Any, event_id: str | None
) -> tuple[str, bool]:
    """(event id, created). Raises InvalidEvent."""
    try:
        row = await db.fetchrow(
            "SELECT event_id, created FROM flowsync.emit_event_ex($1, $2, $3)",
            event_type,
            payload,
            event_id,
        )
    except asyncpg.PostgresError as exc:
        if getattr(exc, "sqlstate", None) == "FS010":
            raise InvalidEvent(getattr(exc, "message", str(exc))) from None
        raise translate(exc) from None
    assert row is not None
    return row["event_id"], row["created"]


async def claim_events(
    db: Connection, limit: int, event_id: str | None = None
) -> list[ClaimedEvent]:
    rows = await db.fetch("SELECT * FROM flowsync.process_event_claim($1, $2)", limit, event_id)
    return [ClaimedEvent(**dict(row)) for row in rows]


async def mark_events_processed(db: Connection, event_ids: list[str]) -> int:
    count: int = await db.fetchval("SELECT flowsync.process_event_done($1)", event_ids)
    return count


async def event_executions(db: Connection, event_id: str) -> list[UUID]:
    """The executions an event started (for answering a repeated POST /events)."""
    rows = await db.fetch(
        "SELECT execution_id FROM flowsync.trigger_fires "
        "WHERE dedupe_key = 'event:' || $1 AND execution_id IS NOT NULL ORDER BY id",
        event_id,
    )
    return [row["execution_id"] for row in rows]


async def prune_trigger_fires(db: Connection, older_than: datetime, limit: int) -> int:
    count: int = await db.fetchval("SELECT flowsync.prune_trigger_fires($1, $2)", older_than, limit)
    return count


# -- pgmq (the queue functions come from PGMQ's own SQL) ---------------------------------------


async def pgmq_installed(db: Connection) -> bool:
    found: bool = await db.fetchval("SELECT to_regclass('pgmq.meta') IS NOT NULL")
    return found


async def pgmq_create_queue(db: Connection, queue: str) -> None:
    await db.execute("SELECT pgmq.create($1)", queue)


async def pgmq_read(db: Connection, queue: str, visibility_s: int, qty: int) -> list[QueueMessage]:
    rows = await db.fetch(
        "SELECT msg_id, read_ct, enqueued_at, message, headers FROM pgmq.read($1, $2, $3)",
        queue,
        visibility_s,
        qty,
    )
    return [QueueMessage(**dict(row)) for row in rows]


async def pgmq_archive(db: Connection, queue: str, msg_ids: list[int]) -> None:
    await db.execute("SELECT pgmq.archive($1, $2::bigint[])", queue, msg_ids)


async def pgmq_send(db: Connection, queue: str, message: Any, headers: Any) -> int:
    msg_id: int = await db.fetchval(
        "SELECT * FROM pgmq.send($1, $2::jsonb, $3::jsonb)", queue, message, headers
    )
    return msg_id
