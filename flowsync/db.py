"""asyncpg pool with msgspec JSON codecs; no SQL text lives here."""

from __future__ import annotations

import re
from typing import Any

import asyncpg
import msgspec

from flowsync.config import DB_COMMAND_TIMEOUT_SECONDS

# A NUL escape in encoded JSON (an even number of backslashes before it is still one escape):
# PostgreSQL refuses \u0000 in jsonb.
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()


def _encode_json(value: Any) -> str:
    return _encoder.encode(value).decode()


def has_nul_escape(encoded_json: bytes) -> bool:
    """Whether this JSON holds a \\u0000, which a jsonb column cannot store."""
    # (the substring test is cheap; the pattern only tells an escaped backslash from it)
    return b"\\u0000" in encoded_json and _NUL_ESCAPE.search(encoded_json) is not None


async def use_json_codecs(conn: asyncpg.Connection[Any]) -> None:
    """json/jsonb values as Python objects in and out (msgspec)."""
    for name in ("json", "jsonb"):
        await conn.set_type_codec(
            name, schema="pg_catalog", encoder=_encode_json, decoder=_decoder.decode
        )


async def _no_reset(conn: asyncpg.Connection[Any]) -> None:
    """FlowSync code leaves no session state on pooled connections (no SET, LISTEN or
    session advisory locks: those live on dedicated connections), so the default reset query
    run on every release would only cost a round trip per call."""


async def create_pool(
    dsn: str,
    *,
    min_size: int = 1,
    max_size: int = 10,
    application_name: str = "flowsync",
    generic_plans: bool = False,
    command_timeout: float = DB_COMMAND_TIMEOUT_SECONDS,
) -> asyncpg.Pool[Any]:
    """A pool whose json/jsonb values are Python objects in and out.

    `command_timeout`: a call that gets no answer within this many seconds raises
    TimeoutError and its statement is cancelled (if the server cannot be told, the connection
    is dropped). The statement may still have committed: callers treat a timeout like a lost
    connection, an unknown outcome.

    `generic_plans`: the engine's functions plan each statement once per session. Their
    statements are driven by id arrays through key lookups, so the plan does not depend on
    the values; left to choose, PostgreSQL re-plans some of them on every call (a custom plan
    looks cheaper than the generic one), which cost a worker about a tenth of its time."""
    settings = {"application_name": application_name}
    if generic_plans:
        settings["plan_cache_mode"] = "force_generic_plan"
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=use_json_codecs,
        reset=_no_reset,
        server_settings=settings,
        command_timeout=command_timeout,
    )
    assert pool is not None
    return pool
