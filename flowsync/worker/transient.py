"""Which database errors are worth retrying (connection loss, restarts, deadlocks)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg
import structlog

T = TypeVar("T")
log = structlog.stdlib.get_logger("flowsync.worker")

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    # Raised when a pooled connection is terminated in the middle of an operation
    # ("cannot switch to state ..."; asyncpg issue #784): the connection is gone, not us.
    asyncpg.InternalClientError,
    asyncpg.PostgresConnectionError,
    asyncpg.AdminShutdownError,
    asyncpg.CannotConnectNowError,
    asyncpg.CrashShutdownError,
    asyncpg.DeadlockDetectedError,
    asyncpg.SerializationError,
    asyncpg.TooManyConnectionsError,
)


async def retry_transient(
    what: str,
    call: Callable[[], Awaitable[T]],
    *,
    give_up: Callable[[], bool] = lambda: False,
    on_retry: Callable[[], None] = lambda: None,
) -> T:
    """Run `call` until it works, backing off from 50 ms to 2 s between transient failures.
    Stops retrying (re-raising) once `give_up()` says so."""
    delay = 0.05
    while True:
        try:
            return await call()
        except TRANSIENT_ERRORS as exc:
            if give_up():
                raise
            log.warning("db.retry", call=what, error=f"{type(exc).__name__}: {exc}", wait=delay)
            on_retry()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
