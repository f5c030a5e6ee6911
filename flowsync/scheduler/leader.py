"""The scheduler: leader election on a dedicated session, and the leader's duty tasks.

    every scheduler process                          the leader only
    ┌──────────────────────────────────┐            ┌──────────────────────────────────────────┐
    │ a dedicated session (not pooled) │  lock won  │ every tick, on the dedicated session:    │
    │ scheduler_lead() every 0.5 s ────┼──────────▶ │   scheduler_heartbeat() — false, an      │
    │   = pg_try_advisory_lock(key)    │            │   error or a timeout: step down          │
    └────────────────▲─────────────────┘            │ duty tasks, each on its cadence, on a    │
                     │                              │ small pool: cron, events, pgmq, wake     │
                     │  step down: cancel the duty  │ (every tick), rescue (1 s), retention    │
                     └─ tasks, close the session ◀──┴──────────────────────────────────────────┘
                        (the lock goes with it), compete again

The lock belongs to the session, so a leader that dies (SIGKILL, crash, lost network,
pg_terminate_backend) loses it with its session and a follower wins it on its next try. A
leader cut off from the database cannot know at once that it was replaced, so for a moment two
processes may run duties: every duty is idempotent (cron fires are unique per trigger and fire
time, rescues and deletes lock rows with SKIP LOCKED and re-check their conditions).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import time
from typing import Any

import asyncpg

from flowsync import db
from flowsync.log import get_logger
from flowsync.scheduler.config import SchedulerConfig
from flowsync.scheduler.duty import Duty, Pool
from flowsync.scheduler.rescue import RescueDuty
from flowsync.scheduler.retention import RetentionDuty
from flowsync.scheduler.triggers import trigger_duties
from flowsync.scheduler.wake import WakeDuty
from flowsync.store import scheduler as store
from flowsync.worker.transient import TRANSIENT_ERRORS, describe

log = get_logger("flowsync.scheduler")


class LostLeadership(Exception):
    """The dedicated session no longer holds the scheduler lock."""


# Errors after which the session can no longer be trusted to hold the lock.
SESSION_ERRORS: tuple[type[BaseException], ...] = (
    *TRANSIENT_ERRORS,
    asyncpg.PostgresError,
    LostLeadership,
)


class Scheduler:
    def __init__(self, dsn: str, config: SchedulerConfig | None = None) -> None:
        self.dsn = dsn
        self.config = config or SchedulerConfig()
        self.hostname = socket.gethostname()
        self.id = f"{self.hostname}-{os.getpid()}-{secrets.token_hex(3)}"
        self.leading = False

    # -- lifecycle ------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Compete for the lock and lead when won, until `stop` is set; then let go of it."""
        pool = await db.create_pool(
            self.dsn,
            min_size=0,
            max_size=4,
            application_name="flowsync-scheduler",
            command_timeout=self.config.db_command_timeout,
        )
        log.info("scheduler.started", scheduler=self.id)
        delay = 0.05
        try:
            while not stop.is_set():
                try:
                    await self._session(pool, stop)
                    delay = 0.05
                except SESSION_ERRORS as exc:
                    log.warning("scheduler.session_lost", scheduler=self.id, error=describe(exc))
                    await _sleep_or_stop(stop, delay)
                    delay = min(delay * 2, self.config.lock_retry_seconds)
        finally:
            try:
                await asyncio.wait_for(pool.close(), self.config.db_timeout_seconds)
            except TimeoutError:
                pool.terminate()
            log.info("scheduler.stopped", scheduler=self.id)

    async def _session(self, pool: Pool, stop: asyncio.Event) -> None:
        """One dedicated session: try for the lock until won, lead until lost or stopped."""
        timeout = self.config.db_timeout_seconds
        conn: asyncpg.Connection[Any] = await asyncpg.connect(
            self.dsn,
            timeout=timeout,
            server_settings={"application_name": "flowsync-scheduler-lock"},
        )
        clean = False
        try:
            while not stop.is_set():
                async with asyncio.timeout(timeout):
                    leads = await store.scheduler_lead(conn, self.id, self.hostname, os.getpid())
                if leads:
                    await self._lead(conn, pool, stop)
                else:
                    await _sleep_or_stop(stop, self.config.lock_retry_seconds)
            async with asyncio.timeout(timeout):
                await store.scheduler_stop(conn, self.id)
            clean = True
        finally:
            # Closing the session is what releases the lock when anything went wrong.
            if clean:
                with contextlib.suppress(*SESSION_ERRORS):
                    await conn.close(timeout=timeout)
            if not conn.is_closed():
                conn.terminate()

    # -- leading ----------------------------------------------------------------------------

    async def _lead(self, conn: asyncpg.Connection[Any], pool: Pool, stop: asyncio.Event) -> None:
        """Run the duties while this session holds the lock; return when `stop` is set, raise
        when the lock or the session is lost (the caller then closes the session)."""
        self.leading = True
        log.info("scheduler.leading", scheduler=self.id, hostname=self.hostname, pid=os.getpid())
        tasks = [
            asyncio.create_task(self._run_duty(duty, pool), name=f"scheduler-{duty.name}")
            for duty in self._duties()
        ]
        reason = "stopping"
        try:
            while True:
                await _sleep_or_stop(stop, self.config.tick_seconds)
                if stop.is_set():
                    return
                try:
                    async with asyncio.timeout(self.config.db_timeout_seconds):
                        holds = await store.scheduler_heartbeat(conn, self.id)
                except SESSION_ERRORS as exc:
                    reason = describe(exc)
                    raise
                if not holds:
                    reason = "this session no longer holds the scheduler lock"
                    raise LostLeadership(reason)
        finally:
            for task in tasks:
                task.cancel()
            # Bounded: a duty stuck on an unreachable database must not keep us from closing
            # the session (cancelled, it no longer acts).
            await asyncio.wait(tasks, timeout=self.config.db_timeout_seconds)
            self.leading = False
            log.info("scheduler.stepped_down", scheduler=self.id, reason=reason)

    def _duties(self) -> list[Duty]:
        """Fresh duties for a new term (the wake duty starts its window again)."""
        c = self.config
        duties: list[Duty] = [
            *trigger_duties(c.tick_seconds),
            WakeDuty(c.tick_seconds),
            RescueDuty(c.rescue_seconds),
        ]
        if c.retention is not None:
            duties.append(
                RetentionDuty(c.retention, c.prune_seconds, c.prune_batch, c.prune_max_batches)
            )
        return duties

    async def _run_duty(self, duty: Duty, pool: Pool) -> None:
        """Run one duty on its cadence until cancelled. A failing pass is logged and the next
        one comes on time: one broken duty must not stop the others or the leadership."""
        while True:
            started = time.monotonic()
            try:
                await duty.run(pool)
            except TRANSIENT_ERRORS as exc:
                log.warning("scheduler.duty_failed", duty=duty.name, error=describe(exc))
            except Exception:
                log.exception("scheduler.duty_crashed", duty=duty.name)
            await asyncio.sleep(max(0.0, duty.every - (time.monotonic() - started)))


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
