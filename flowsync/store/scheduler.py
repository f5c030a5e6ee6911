"""The scheduler's calls: leader election, wake-ups, retention, and who leads (for the API)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import msgspec

if TYPE_CHECKING:
    import asyncpg

    from flowsync.store.errors import Connection


class SchedulerRow(msgspec.Struct, frozen=True):
    """One scheduler process as the flowsync.scheduler_status view sees it."""

    id: str
    hostname: str
    pid: int
    state: str  # leading | following | stopped | gone
    leader_since: datetime | None
    last_tick_at: datetime | None
    last_tick_age: timedelta | None
    started_at: datetime
    last_seen_at: datetime
    stopped_at: datetime | None


# -- leader election (on the scheduler's dedicated session) ---------------------------------


async def scheduler_lead(
    conn: asyncpg.Connection[Any], scheduler: str, hostname: str, pid: int
) -> bool:
    """One try for the scheduler lock; True when this session now holds it."""
    leads: bool = await conn.fetchval(
        "SELECT flowsync.scheduler_lead($1, $2, $3)", scheduler, hostname, pid
    )
    return leads


async def scheduler_heartbeat(conn: asyncpg.Connection[Any], scheduler: str) -> bool:
    """True while this session still holds the scheduler lock."""
    holds: bool = await conn.fetchval("SELECT flowsync.scheduler_heartbeat($1)", scheduler)
    return holds


async def scheduler_stop(conn: asyncpg.Connection[Any], scheduler: str) -> None:
    """Mark the scheduler stopped and release the lock if this session holds it."""
    await conn.execute("SELECT flowsync.scheduler_stop($1)", scheduler)


# -- duties -----------------------------------------------------------------------------------


async def notify_due_jobs(db: Connection, after: datetime | None) -> tuple[int, datetime]:
    """NOTIFY workers of queues whose jobs fell due since `after`: (queues notified, until)."""
    row = await db.fetchrow("SELECT * FROM flowsync.notify_due_jobs($1)", after)
    assert row is not None
    return row["notified"], row["checked_until"]


async def prune_executions(db: Connection, retention: timedelta, limit: int) -> int:
    """Delete up to `limit` executions that finished more than `retention` ago."""
    count: int = await db.fetchval(
        "SELECT flowsync.prune_executions(now() - $1::interval, $2)", retention, limit
    )
    return count


async def prune_workers(db: Connection, retention: timedelta, limit: int) -> int:
    count: int = await db.fetchval(
        "SELECT flowsync.prune_workers(now() - $1::interval, $2)", retention, limit
    )
    return count


async def prune_schedulers(db: Connection, retention: timedelta) -> int:
    count: int = await db.fetchval(
        "SELECT flowsync.prune_schedulers(now() - $1::interval)", retention
    )
    return count


async def prune_trigger_fires(db: Connection, retention: timedelta, limit: int) -> int:
    count: int = await db.fetchval(
        "SELECT flowsync.prune_trigger_fires(now() - $1::interval, $2)", retention, limit
    )
    return count


# -- who leads --------------------------------------------------------------------------------


async def list_schedulers(db: Connection) -> list[SchedulerRow]:
    """Every known scheduler process, the leader first."""
    rows = await db.fetch(
        "SELECT id, hostname, pid, state, leader_since, last_tick_at, last_tick_age, "
        "started_at, last_seen_at, stopped_at FROM flowsync.scheduler_status"
    )
    return [SchedulerRow(**dict(row)) for row in rows]
