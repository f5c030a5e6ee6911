"""Duty: delete what is older than the retention period, in short bounded batches.

Finished executions go with their steps, attempts, logs and events (ON DELETE CASCADE);
queued and running ones are never touched. Trigger fire records, stopped or vanished workers and
schedulers go too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from flowsync.definition import format_duration
from flowsync.log import get_logger
from flowsync.scheduler.duty import Pool
from flowsync.store import scheduler as store

log = get_logger("flowsync.scheduler")


class RetentionDuty:
    name = "retention"

    def __init__(self, retention: timedelta, every: float, batch: int, max_batches: int) -> None:
        self.retention = retention
        self.every = every
        self.batch = batch
        self.max_batches = max_batches

    async def run(self, pool: Pool) -> int:
        keep, batch = self.retention, self.batch
        pruned = {
            "executions": await self._batches(lambda: store.prune_executions(pool, keep, batch)),
            "trigger_fires": await self._batches(
                lambda: store.prune_trigger_fires(pool, keep, batch)
            ),
            "workers": await self._batches(lambda: store.prune_workers(pool, keep, batch)),
            "schedulers": await store.prune_schedulers(pool, keep),
        }
        total = sum(pruned.values())
        if total:
            log.info("scheduler.pruned", older_than=format_duration(keep), **pruned)
        return total

    async def _batches(self, prune: Callable[[], Awaitable[int]]) -> int:
        """Call `prune` until a batch comes back short, at most max_batches times."""
        total = 0
        for _ in range(self.max_batches):
            deleted = await prune()
            total += deleted
            if deleted < self.batch:
                break
        return total
