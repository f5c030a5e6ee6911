"""Connections the worker keeps out of its pool for its claim and report round trips."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from flowsync.worker.transient import connection_lost

T = TypeVar("T")


class HeldConnections:
    """Taking a connection from the pool for each call and giving it back cost a chain step
    about a tenth of the worker's CPU (the release runs as a task of its own, and arms and
    disarms an idle timer). The worker makes these calls back to back, so it keeps a
    connection for each call that may be in flight. A call that fails gives its
    connection back to the pool; one that lost its connection closes it first, and the pool
    opens a new one for the next."""

    def __init__(self, pool: asyncpg.Pool[Any]) -> None:
        self._pool = pool
        self._idle: list[PoolConnectionProxy[Any]] = []

    async def run(self, call: Callable[[PoolConnectionProxy[Any]], Awaitable[T]]) -> T:
        conn = self._idle.pop() if self._idle else await self._pool.acquire()
        try:
            result = await call(conn)
        except BaseException as exc:
            if connection_lost(exc):
                # (a terminated backend's last message can arrive before its socket closes,
                # leaving the connection open but mid-protocol)
                conn.terminate()
            await self._pool.release(conn)  # (after a timeout: once the cancel is through)
            raise
        self._idle.append(conn)
        return result

    async def release(self) -> None:
        """Give every idle connection back (before the pool closes: it waits for them)."""
        idle, self._idle = self._idle, []
        for conn in idle:
            await self._pool.release(conn)
