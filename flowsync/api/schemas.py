"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from flowsync.triggers.models import TriggerOut


class WorkflowOut(msgspec.Struct):
    name: str
    version: int
    latest_version: int
    archived: bool
    created_at: datetime
    updated_at: datetime
    checksum: str
    definition: dict[str, Any]
    triggers: list[TriggerOut] = msgspec.field(default_factory=list)


class WorkflowSaved(msgspec.Struct):
    name: str
    version: int
    created: bool
    archived: bool


class WorkflowListItem(msgspec.Struct):
    name: str
    latest_version: int
    archived: bool
    created_at: datetime
    updated_at: datetime


class WorkflowPage(msgspec.Struct):
    items: list[WorkflowListItem]
    next_cursor: str | None


class VersionOut(msgspec.Struct):
    version: int
    checksum: str
    created_at: datetime


class VersionPage(msgspec.Struct):
    name: str
    items: list[VersionOut]
    next_cursor: str | None


class VersionDetail(msgspec.Struct):
    name: str
    version: int
    checksum: str
    created_at: datetime
    definition: dict[str, Any]


class ArchiveState(msgspec.Struct):
    name: str
    archived: bool


class Health(msgspec.Struct):
    status: str


class Ready(msgspec.Struct):
    status: str
    database: str
