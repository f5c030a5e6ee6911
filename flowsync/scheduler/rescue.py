"""Duty: re-queue steps whose lease expired (their worker died or hung); see
rescue_expired_leases.sql for the fencing that makes this safe to repeat."""

from __future__ import annotations

from flowsync.log import get_logger
from flowsync.scheduler.duty import Pool
from flowsync.store import engine as store

log = get_logger("flowsync.scheduler")
RESCUE_LIMIT = 1000


class RescueDuty:
    name = "rescue"

    def __init__(self, every: float) -> None:
        self.every = every

    async def run(self, pool: Pool) -> int:
        rescued = await store.rescue_expired_leases(pool, RESCUE_LIMIT)
        if rescued:
            log.info("scheduler.rescued_expired_leases", count=rescued)
        return rescued
