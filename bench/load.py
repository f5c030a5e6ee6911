"""Closed-loop load over several connections: each one runs its calls back to back."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

# One call: do something on the connection, return how many items it produced.
Call = Callable[["asyncpg.Connection[Any]"], Awaitable[int]]


@dataclass(frozen=True)
class LoadResult:
    items_per_s: float
    latencies_s: list[float]


async def closed_loop(
    dsn: str, *, connections: int, calls: int, call: Call, warmup: int = 0
) -> LoadResult:
    """`calls` calls of `call` shared by `connections` connections, each running its calls
    back to back; `warmup` untimed calls per connection first (plans, caches)."""
    conns = [await asyncpg.connect(dsn) for _ in range(connections)]
    try:
        for conn in conns:
            for _ in range(warmup):
                await call(conn)
        tickets = itertools.count()
        latencies: list[float] = []
        items = 0

        async def client(conn: asyncpg.Connection[Any]) -> None:
            nonlocal items
            while next(tickets) < calls:
                started = time.perf_counter()
                produced = await call(conn)  # not `items += await ...`: that reads `items`
                items += produced  # before the await and loses the other clients' counts
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(client(c) for c in conns))
        elapsed = time.perf_counter() - started
        return LoadResult(items / elapsed, latencies)
    finally:
        for conn in conns:
            await conn.close()
