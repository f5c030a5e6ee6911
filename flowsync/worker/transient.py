"""Which database errors are worth retrying (connection loss, restarts, deadlocks)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg
import structlog

T = TypeVar("T")
log = structlog.stdlib.get_logger("flowsync.worker")

# The connection is gone or unusable: the next call needs another one.
CONNECTION_LOST: tuple[type[BaseException], ...] = (
    OSError,  # (TimeoutError is one too: see connection_lost)
    asyncpg.InterfaceError,
    # Raised when a pooled connection is terminated in the middle of an operation
    # ("cannot switch to state ..."; asyncpg issue #784): the connection is gone, not us.
    asyncpg.InternalClientError,
    asyncpg.PostgresConnectionError,
    asyncpg.AdminShutdownError,
    asyncpg.CannotConnectNowError,
    asyncpg.CrashShutdownError,
)

# A call that failed with one of these may or may not have taken effect (the server may
# have committed before the answer was lost): a retry must be safe, and a worker reconciles
# what it holds after one (Worker._reconciled).
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    *CONNECTION_LOST,
    # Also the pool's command timeout: asyncpg raises asyncio.TimeoutError, which is
    # TimeoutError, after asking the server to cancel the statement, which may be too late.
    TimeoutError,
    asyncpg.DeadlockDetectedError,
    asyncpg.SerializationError,
    asyncpg.TooManyConnectionsError,
)


def connection_lost(exc: BaseException) -> bool:
    """Whether the call's connection is gone. Not after a command timeout: asyncpg cancels the
    statement and the connection stays fit (a deadlock or the like leaves it fit too)."""
    return isinstance(exc, CONNECTION_LOST) and not isinstance(exc, TimeoutError)


def describe(exc: BaseException) -> str:
    """An error for a log line (a timeout comes without a message of its own)."""
    if isinstance(exc, TimeoutError) and not str(exc):
        return "TimeoutError: the database did not answer in time"
    return f"{type(exc).__name__}: {exc}"


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
            log.warning("db.retry", call=what, error=describe(exc), wait=delay)
            on_retry()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
