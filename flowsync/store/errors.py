"""Errors the stored functions raise, as Python exceptions (by SQLSTATE), and shared types."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import asyncpg

if TYPE_CHECKING:
    Connection = asyncpg.Connection[Any] | asyncpg.Pool[Any]


class StoreError(Exception):
    """A stored function refused the request; the message says why."""


class WorkflowNotFound(StoreError):
    pass


class WorkflowArchived(StoreError):
    pass


class VersionNotFound(StoreError):
    pass


class IdempotencyConflict(StoreError):
    pass


class InvalidBatch(StoreError):
    """A batch start's inputs are not a JSON array, or its keys do not pair with them."""


_BY_SQLSTATE: dict[str, type[StoreError]] = {
    "FS001": WorkflowNotFound,
    "FS002": WorkflowArchived,
    "FS003": VersionNotFound,
    "FS004": IdempotencyConflict,
    "FS005": InvalidBatch,
}


def translate(exc: asyncpg.PostgresError) -> Exception:
    """The StoreError for a FlowSync SQLSTATE, else the original error."""
    kind = _BY_SQLSTATE.get(getattr(exc, "sqlstate", "") or "")
    if kind is None:
        return exc
    return kind(getattr(exc, "message", str(exc)))
