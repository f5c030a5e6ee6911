"""What every measurement gets: its own database, the run's sizes, where to put logs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import asyncpg

if TYPE_CHECKING:
    from bench.procs import Proc

T = TypeVar("T")


class BenchError(RuntimeError):
    """A measurement could not be taken (a process died, a deadline passed, a count is off)."""


@dataclass(frozen=True)
class Sizes:
    """How much work each scenario does. The full run follows the issue; --quick shrinks it."""

    repetitions: int
    drain_executions: int
    chain_runs: int
    pickup_samples: int
    pickup_interval_s: float
    warmup: int
    api_starts: int
    sql_single_starts: int
    sql_batches: int
    batch_size: int
    floor_single_jobs: int
    floor_batch_jobs: int
    clients: int
    concurrency: int

    @classmethod
    def full(cls) -> Sizes:
        return cls(
            repetitions=3,
            drain_executions=20_000,
            chain_runs=10,
            pickup_samples=500,
            pickup_interval_s=0.020,
            warmup=5,
            api_starts=3_000,
            sql_single_starts=2_000,
            sql_batches=100,
            batch_size=100,
            floor_single_jobs=3_000,
            floor_batch_jobs=20_000,
            clients=32,
            concurrency=100,
        )

    @classmethod
    def quick(cls) -> Sizes:
        return cls(
            repetitions=1,
            drain_executions=5_000,
            chain_runs=3,
            pickup_samples=100,
            pickup_interval_s=0.020,
            warmup=5,
            api_starts=600,
            sql_single_starts=500,
            sql_batches=20,
            batch_size=100,
            floor_single_jobs=1_000,
            floor_batch_jobs=5_000,
            clients=32,
            concurrency=100,
        )


@dataclass(frozen=True)
class Context:
    dsn: str
    sizes: Sizes
    log_dir: Path

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"


async def wait_until(
    check: Callable[[], Awaitable[bool]],
    *,
    what: str,
    within: float,
    interval: float = 0.1,
    procs: Sequence[Proc] = (),
) -> float:
    """Poll `check` every `interval` until it is true; the seconds it took. Fails when
    `within` seconds pass or one of `procs` exits."""
    started = time.monotonic()
    deadline = started + within
    while not await check():
        for proc in procs:
            proc.check_alive()
        if time.monotonic() > deadline:
            raise BenchError(f"{what}: not done after {within:.0f}s")
        await asyncio.sleep(interval)
    return time.monotonic() - started


async def committed(
    conn: asyncpg.Connection[Any], work: Callable[[], Awaitable[T]]
) -> tuple[T, datetime]:
    """Run `work` in one transaction; its result and the server's clock read as the last
    statement before COMMIT.

    That reading is a lower bound of the commit, never later than it, so a latency measured
    from it includes the commit itself (its WAL flush): a few tenths of a millisecond here,
    the same for every system measured. A clock read after COMMIT returned would be an upper
    bound instead, and on a busy machine the client can be descheduled for milliseconds
    before it is sent: latencies then come out too small, even negative.
    """
    async with conn.transaction():
        result = await work()
        stamp: datetime = await conn.fetchval("SELECT clock_timestamp()")
    return result, stamp
