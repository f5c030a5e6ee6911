"""Opaque cursors for keyset pagination, and the query parameters every listing takes."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, TypeVar

import msgspec
from litestar.params import QueryParameter

from flowsync.api.problems import ApiProblem, FieldError

MAX_LIMIT = 500

Limit = Annotated[int, QueryParameter(description=f"page size (1-{MAX_LIMIT})")]
Cursor = Annotated[str | None, QueryParameter(description="next_cursor of the previous page")]
T = TypeVar("T")


def encode_cursor(value: str | int) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(value)).decode().rstrip("=")


def decode_cursor(cursor: str | None, kind: type[T]) -> T | None:
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = msgspec.json.decode(raw, type=kind)
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("NUL in cursor")
        if isinstance(value, int) and not -(2**31) <= value < 2**31:
            raise ValueError("cursor out of range")
        return value
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise ApiProblem(
            400,
            "Bad Request",
            "the cursor is not one this API handed out",
            errors=[FieldError("query.cursor", "invalid cursor")],
        ) from None


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise ApiProblem(
            400,
            "Bad Request",
            f"limit must be between 1 and {MAX_LIMIT}",
            errors=[FieldError("query.limit", f"must be between 1 and {MAX_LIMIT}, got {limit}")],
        )
    return limit
