"""Duty: NOTIFY workers when delayed jobs (retries, snoozes, delays) fall due.

Workers sleep until the earliest run_at they know of, and every new job is announced when it
is created; this covers the rest (a worker that started or reconnected after the
announcement, one that planned its sleep before another process queued an earlier job).
Each pass covers the jobs that fell due since the previous pass, so a job is announced once.
"""

from __future__ import annotations

from datetime import datetime

from flowsync.log import get_logger
from flowsync.scheduler.duty import Pool
from flowsync.store import scheduler as store

log = get_logger("flowsync.scheduler")


class WakeDuty:
    name = "wake"

    def __init__(self, every: float) -> None:
        self.every = every
        self._checked_until: datetime | None = None  # None: look back a few seconds

    async def run(self, pool: Pool) -> int:
        notified, self._checked_until = await store.notify_due_jobs(pool, self._checked_until)
        if notified:
            log.debug("scheduler.woke_workers", queues=notified)
        return notified
