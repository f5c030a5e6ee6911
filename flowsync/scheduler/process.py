"""`flowsync scheduler`: run a Scheduler until SIGTERM/SIGINT, then let go of the lock."""

from __future__ import annotations

import asyncio
import signal

from flowsync import aio
from flowsync.scheduler.config import SchedulerConfig
from flowsync.scheduler.leader import Scheduler


async def _serve(dsn: str, config: SchedulerConfig) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await Scheduler(dsn, config).run(stop)


def run_scheduler(dsn: str, config: SchedulerConfig) -> None:
    aio.run(_serve(dsn, config))
