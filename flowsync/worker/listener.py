"""The worker's LISTEN connection: wakes the claim loop, and comes back after any disconnect.

A notification is only a hint that work may be ready (see _notify_jobs), or that a worker
joined or left one of our queues (_announce_workers); the claim loop also polls, and peers
are counted again every heartbeat interval. After every reconnect the listener passes on
both once, since notifications sent while it was away are lost.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any

import asyncpg
import structlog

from flowsync.worker.transient import TRANSIENT_ERRORS, describe

CHANNEL = "flowsync_jobs"
HEALTH_CHECK_SECONDS = 2.0
log = structlog.stdlib.get_logger("flowsync.worker")

# on_wake(run_at): run_at is the epoch time (seconds) of the earliest new job, or None for
# "check now".
WakeCallback = Callable[[float | None], None]


class JobListener:
    def __init__(
        self,
        dsn: str,
        queues: tuple[str, ...],
        on_wake: WakeCallback,
        on_workers: Callable[[], None] = lambda: None,
    ) -> None:
        self._dsn = dsn
        self._queues = set(queues)
        self._on_wake = on_wake
        self._on_workers = on_workers  # a worker joined or left one of our queues
        self.connected = asyncio.Event()
        self.reconnects = 0

    def _notified(self, _conn: Any, _pid: int, _channel: str, payload: object) -> None:
        queue, _, run_at_ms = str(payload).partition(" ")
        if queue not in self._queues:
            return
        if run_at_ms == "workers":
            self._on_workers()
            return
        try:
            run_at = int(run_at_ms) / 1000.0
        except ValueError:
            run_at = None
        self._on_wake(run_at)

    async def run(self, stop: asyncio.Event) -> None:
        delay = 0.05
        while not stop.is_set():
            conn: asyncpg.Connection[Any] | None = None
            try:
                conn = await asyncpg.connect(
                    self._dsn,
                    timeout=5,
                    server_settings={"application_name": "flowsync-worker-listen"},
                )
                lost = asyncio.Event()
                conn.add_termination_listener(functools.partial(_set_event, lost))
                await conn.add_listener(CHANNEL, self._notified)
                self.connected.set()
                self._on_wake(None)
                self._on_workers()
                delay = 0.05
                await self._watch(conn, lost, stop)
            except TRANSIENT_ERRORS as exc:
                log.warning("listener.disconnected", error=describe(exc))
            finally:
                self.connected.clear()
                if conn is not None and not conn.is_closed():
                    conn.terminate()
            if not stop.is_set():
                self.reconnects += 1
                await _sleep_or_stop(stop, delay)
                delay = min(delay * 2, 1.0)

    async def _watch(
        self, conn: asyncpg.Connection[Any], lost: asyncio.Event, stop: asyncio.Event
    ) -> None:
        """Return when stopping or when the connection is gone (checked every 2 s)."""
        while not stop.is_set() and not lost.is_set():
            await _sleep_or_stop(stop, HEALTH_CHECK_SECONDS, lost)
            if stop.is_set() or lost.is_set():
                return
            await conn.fetchval("SELECT 1", timeout=HEALTH_CHECK_SECONDS)


def _set_event(event: asyncio.Event, *_: object) -> None:
    event.set()


async def _sleep_or_stop(stop: asyncio.Event, seconds: float, *more: asyncio.Event) -> None:
    waiters = [asyncio.ensure_future(e.wait()) for e in (stop, *more)]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()
