"""GET /scheduler: which scheduler process leads, whether it is ticking, who stands by."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import msgspec
from litestar import Controller, Request, get

from flowsync import store
from flowsync.api.auth import requires

# The leader records a tick at least every second; this much silence means it is stuck.
HEALTHY_TICK_AGE = timedelta(seconds=5)


class LeaderOut(msgspec.Struct):
    id: str
    hostname: str
    pid: int
    since: datetime
    last_tick_at: datetime | None


class FollowerOut(msgspec.Struct):
    id: str
    hostname: str
    pid: int
    last_seen_at: datetime


class SchedulerStatus(msgspec.Struct):
    leader: LeaderOut | None
    """The process holding the scheduler lock now (checked against pg_locks), if any."""
    healthy: bool
    """A leader holds the lock and ticked within the last 5 seconds."""
    followers: list[FollowerOut]
    """Processes ready to take over (they tried for the lock within the last 15 seconds)."""


class SchedulerController(Controller):
    path = "/scheduler"
    tags = ("system",)

    @get("/", guards=[requires("read")], summary="Which scheduler leads, and whether it ticks")
    async def status(self, request: Request[Any, Any, Any]) -> SchedulerStatus:
        rows = await store.list_schedulers(request.app.state.pool)
        leader = next((r for r in rows if r.state == "leading"), None)
        healthy = (
            leader is not None
            and leader.last_tick_age is not None
            and leader.last_tick_age < HEALTHY_TICK_AGE
        )
        return SchedulerStatus(
            leader=None
            if leader is None or leader.leader_since is None
            else LeaderOut(
                leader.id, leader.hostname, leader.pid, leader.leader_since, leader.last_tick_at
            ),
            healthy=healthy,
            followers=[
                FollowerOut(r.id, r.hostname, r.pid, r.last_seen_at)
                for r in rows
                if r.state == "following"
            ],
        )
