"""Creating and changing triggers: their checks and store calls, for the API and the CLI alike."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

import msgspec
from msgspec import UNSET

from flowsync import store
from flowsync.db import has_nul_escape
from flowsync.store import triggers as trigger_store
from flowsync.store.triggers import TriggerRow
from flowsync.triggers.config import CheckedTrigger, TriggerConfigError, check_trigger, first_tick
from flowsync.triggers.models import MAX_SECRET_CHARS, MIN_SECRET_CHARS, TriggerIn, TriggerPatch
from flowsync.triggers.signature import new_hook_key, new_secret

if TYPE_CHECKING:
    import asyncpg

    from flowsync.store.triggers import Connection

__all__ = [
    "NUL_MESSAGE",
    "PGMQ_MISSING",
    "CreatedTrigger",
    "UnstorableText",
    "create_trigger",
    "update_trigger",
]

NUL_MESSAGE = "must not contain NUL characters (\\u0000)"
PGMQ_MISSING = (
    "pgmq is not installed in this database; install it with: bin/flowsync triggers install-pgmq"
)


class UnstorableText(TriggerConfigError):
    """A value holds a NUL character, which PostgreSQL cannot store in text or jsonb."""

    def __init__(self, path: str) -> None:
        super().__init__([(path, NUL_MESSAGE)])
        self.path = path


class CreatedTrigger(msgspec.Struct, frozen=True):
    row: TriggerRow
    secret: str | None
    """A webhook's secret, for its creator's eyes only: it is never shown again."""


def _check_text(value: str, path: str) -> None:
    if "\x00" in value:
        raise UnstorableText(path)


def _check(kind: str, config: Any, input_mapping: Any) -> CheckedTrigger:
    if has_nul_escape(msgspec.json.encode(config)):
        raise UnstorableText("config")
    if isinstance(input_mapping, str):
        _check_text(input_mapping, "input_mapping")
    return check_trigger(kind, config, input_mapping)


def _secret(given: str | None, kind: str) -> str | None:
    """A webhook's secret: the one given, or a new one. Other kinds have none."""
    if given is None:
        return new_secret() if kind == "webhook" else None
    if kind != "webhook":
        raise TriggerConfigError([("secret", "only webhook triggers have one")])
    _check_text(given, "secret")
    if len(given) < MIN_SECRET_CHARS:
        raise TriggerConfigError([("secret", f"at least {MIN_SECRET_CHARS} characters")])
    if len(given) > MAX_SECRET_CHARS:
        raise TriggerConfigError([("secret", f"at most {MAX_SECRET_CHARS} characters")])
    return given


async def _ensure_queue(db: Connection, checked: CheckedTrigger) -> None:
    """A pgmq trigger needs PGMQ in the database; its queue is created if missing."""
    if checked.kind != "pgmq":
        return
    if not await trigger_store.pgmq_installed(db):
        raise TriggerConfigError([("config.queue", PGMQ_MISSING)])
    await trigger_store.pgmq_create_queue(db, checked.config["queue"])


async def create_trigger(db: Connection, new: TriggerIn, actor: UUID | None) -> CreatedTrigger:
    """Check and store a new trigger.

    Raises UnstorableText (a NUL character), TriggerConfigError (every other problem of the
    request, an unknown workflow included) and store.WorkflowArchived."""
    _check_text(new.workflow, "workflow")
    checked = _check(new.kind, new.config, new.input_mapping)
    secret = _secret(new.secret, checked.kind)
    await _ensure_queue(db, checked)
    try:
        trigger_id = await trigger_store.create_trigger(
            db,
            workflow=new.workflow,
            kind=checked.kind,
            enabled=new.enabled,
            config=checked.config,
            input_mapping=checked.input_mapping,
            hook_key=new_hook_key() if checked.kind == "webhook" else None,
            secret=secret,
            event_type=checked.event_type,
            next_fire_at=first_tick(checked, datetime.now(UTC)),
            actor=actor,
        )
    except store.WorkflowNotFound as exc:
        raise TriggerConfigError([("workflow", str(exc))]) from None
    row = await trigger_store.get_trigger(db, trigger_id)
    assert row is not None
    return CreatedTrigger(row, secret)


async def update_trigger(
    pool: asyncpg.Pool[Any], trigger_id: UUID, change: TriggerPatch, actor: UUID | None
) -> TriggerRow | None:
    """Apply `change` to the trigger and return it; None: no such trigger.

    The row stays locked from the read to the write, so a concurrent change of another field
    is merged, not overwritten. Raises UnstorableText and TriggerConfigError."""
    async with pool.acquire() as conn, conn.transaction():
        row = await trigger_store.get_trigger(conn, trigger_id, for_update=True)
        if row is None:
            return None
        config = row.config if change.config is UNSET else change.config
        mapping = row.input_mapping if change.input_mapping is UNSET else change.input_mapping
        enabled = row.enabled if change.enabled is UNSET else change.enabled
        checked = _check(row.kind, config, mapping)
        if change.config is not UNSET:
            await _ensure_queue(conn, checked)
        # A new schedule, or a trigger coming back on, starts from now: ticks missed while it
        # was disabled are not misfires. None keeps the current next tick.
        restart = change.config is not UNSET or (enabled and not row.enabled)
        updated = await trigger_store.update_trigger(
            conn,
            trigger_id,
            enabled=enabled,
            config=checked.config,
            input_mapping=checked.input_mapping,
            event_type=checked.event_type,
            next_fire_at=first_tick(checked, datetime.now(UTC)) if restart else None,
            actor=actor,
        )
        assert updated  # (the row is ours, locked since it was read)
        return await trigger_store.get_trigger(conn, trigger_id)
