"""Request and response bodies of /triggers, /hooks and /events (also used by /workflows)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from flowsync.store.triggers import TriggerRow

__all__ = [
    "MAX_SECRET_CHARS",
    "MIN_SECRET_CHARS",
    "EventAccepted",
    "EventIn",
    "HookResult",
    "TriggerCreated",
    "TriggerIn",
    "TriggerOut",
    "TriggerPage",
    "TriggerPatch",
    "trigger_out",
]

MIN_SECRET_CHARS = 8
MAX_SECRET_CHARS = 512
Secret = Annotated[str, Meta(min_length=MIN_SECRET_CHARS, max_length=MAX_SECRET_CHARS)]


class TriggerIn(msgspec.Struct, forbid_unknown_fields=True):
    """A new trigger. `secret` (webhooks only) is generated when not given."""

    workflow: str
    kind: str
    config: dict[str, Any] = msgspec.field(default_factory=dict)
    input_mapping: str | None = None
    enabled: bool = True
    secret: Secret | None = None


class TriggerPatch(msgspec.Struct, forbid_unknown_fields=True):
    """What to change; `config` replaces the whole config, `input_mapping: null` removes it."""

    enabled: bool | UnsetType = UNSET
    config: dict[str, Any] | UnsetType = UNSET
    input_mapping: str | UnsetType | None = UNSET


class TriggerOut(msgspec.Struct):
    id: UUID
    workflow: str
    kind: str
    enabled: bool
    config: dict[str, Any]
    input_mapping: str | None
    hook_path: str | None
    next_fire_at: datetime | None
    created_at: datetime
    updated_at: datetime


class TriggerCreated(TriggerOut):
    """As TriggerOut, plus a webhook's secret: shown this once, never again."""

    secret: str | None = None


class TriggerPage(msgspec.Struct):
    items: list[TriggerOut]
    next_cursor: str | None


class HookResult(msgspec.Struct):
    """202: started (or filtered out: matched false); 200: a repeated delivery id."""

    matched: bool
    execution_id: UUID | None = None
    duplicate: bool = False
    reason: str | None = None


class EventIn(msgspec.Struct, forbid_unknown_fields=True):
    type: str
    id: str | None = None
    payload: Any = msgspec.field(default_factory=dict)


class EventAccepted(msgspec.Struct):
    """The event's id; whether it was seen before; the executions it started so far."""

    id: str
    duplicate: bool
    executions: list[UUID]


def trigger_out(row: TriggerRow) -> TriggerOut:
    return TriggerOut(
        id=row.id,
        workflow=row.workflow,
        kind=row.kind,
        enabled=row.enabled,
        config=row.config,
        input_mapping=row.input_mapping,
        hook_path=f"/hooks/{row.hook_key}" if row.hook_key else None,
        next_fire_at=row.next_fire_at if row.enabled else None,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
