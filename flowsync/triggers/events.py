"""The event duty: match pending events against event triggers, once per event id.

One transaction per batch: process_event_claim locks pending events (SKIP LOCKED, so several
processes share the work) with the triggers whose type pattern matches; each trigger's filter
and input mapping run here (CEL lives in Python); fire_trigger records and starts with the
dedupe key "event:<id>"; process_event_done marks the batch. A crash rolls all of it back and
the events stay pending, so each is processed exactly once.
"""

from __future__ import annotations

from datetime import UTC
from typing import TYPE_CHECKING, Any

import asyncpg

from flowsync.log import get_logger
from flowsync.store import triggers as trigger_store
from flowsync.store.triggers import ClaimedEvent
from flowsync.triggers.mapping import MappingError, build_input, evaluate_filter

if TYPE_CHECKING:
    from flowsync.store.triggers import Connection

__all__ = ["BATCH_SIZE", "process_event", "process_pending_events"]

log = get_logger("flowsync.triggers.events")

#: Events handled per transaction.
BATCH_SIZE = 100


async def process_pending_events(pool: asyncpg.Pool[Any]) -> int:
    """Process every pending event (in batches); return the number of executions started."""
    started = 0
    while True:
        async with pool.acquire() as conn, conn.transaction():
            claimed = await trigger_store.claim_events(conn, BATCH_SIZE)
            started += len(await _process(conn, claimed))
        if len({row.event_id for row in claimed}) < BATCH_SIZE:
            return started


async def process_event(pool: asyncpg.Pool[Any], event_id: str) -> list[Any] | None:
    """Process one event now (the API does this right after POST /events). Returns the ids
    of the executions it started, or None when the event is already taken or processed."""
    async with pool.acquire() as conn, conn.transaction():
        claimed = await trigger_store.claim_events(conn, 1, event_id)
        if not claimed:
            return None
        return await _process(conn, claimed)


async def _process(conn: Connection, claimed: list[ClaimedEvent]) -> list[Any]:
    started: list[Any] = []
    for row in claimed:
        if row.trigger_id is None:
            continue
        event = {
            "type": row.event_type,
            "id": row.event_id,
            "payload": row.payload,
            "emitted_at": row.emitted_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        }
        variables = {
            "event": event,
            "payload": row.payload,
            "trigger": {"id": str(row.trigger_id), "kind": "event", "workflow": row.workflow},
        }
        config = row.config or {}
        matched, _ = evaluate_filter(config.get("filter"), variables)
        if not matched:
            continue
        error: str | None = None
        value: Any = None
        try:
            value = build_input(row.input_mapping, variables, row.payload)
        except MappingError as exc:
            error = str(exc)
        result = await trigger_store.fire_trigger(
            conn, row.trigger_id, f"event:{row.event_id}", value, error=error
        )
        if result.result == "started":
            started.append(result.execution_id)
        elif result.result == "failed":
            log.warning(
                "trigger.fire.failed",
                trigger_id=str(row.trigger_id),
                event_id=row.event_id,
                error=result.error,
            )
    if claimed:
        await trigger_store.mark_events_processed(conn, sorted({r.event_id for r in claimed}))
    return started
