"""`flowsync worker`: run a Worker until SIGTERM/SIGINT, then drain within the grace period."""

from __future__ import annotations

import asyncio
import signal

from flowsync import aio
from flowsync.actions import default_registry, load_actions_module
from flowsync.worker.config import WorkerConfig
from flowsync.worker.engine import Worker


async def _serve(dsn: str, config: WorkerConfig) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    worker = Worker(dsn, config, registry=default_registry())
    await worker.run(stop)


def run_worker(dsn: str, config: WorkerConfig) -> None:
    if config.actions_module:
        load_actions_module(config.actions_module)
    aio.run(_serve(dsn, config))
