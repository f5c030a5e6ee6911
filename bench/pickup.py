"""Pickup latency: single-step executions started one at a time, `pickup_interval_s` apart,
with one idle worker process; from the start's commit to its step's start.

Both ends are the server's clock: the commit is `clock_timestamp()` read as the starting
transaction's last statement before COMMIT (see `context.committed`: so the latency includes
that commit's WAL flush, as PgQueuer's does), the start is steps.started_at (the claiming
transaction's now())."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from uuid import UUID

import asyncpg

from bench.context import BenchError, Context, committed, wait_until
from bench.procs import start_flowsync_workers, stop_all
from bench.stats import percentile
from bench.workflows import NOOP


async def pickup(ctx: Context) -> dict[str, float]:
    sizes = ctx.sizes
    conn = await asyncpg.connect(ctx.dsn)
    try:
        procs, _ = await start_flowsync_workers(ctx, conn, 1, "pickup")
        try:
            ids: list[UUID] = []
            commits: list[datetime] = []
            began = time.monotonic()
            for i in range(sizes.warmup + sizes.pickup_samples):
                await asyncio.sleep(
                    max(0.0, began + i * sizes.pickup_interval_s - time.monotonic())
                )
                execution, committed_at = await committed(
                    conn, lambda: conn.fetchval("SELECT flowsync.start_execution($1)", NOOP)
                )
                if i >= sizes.warmup:
                    ids.append(execution)
                    commits.append(committed_at)

            async def all_done() -> bool:
                left: int = await conn.fetchval(
                    "SELECT count(*) FROM flowsync.executions WHERE status IN ('queued', 'running')"
                )
                return left == 0

            await wait_until(all_done, what="pickup", within=60, procs=procs)
            rows = await conn.fetch(
                """
                SELECT extract(epoch FROM s.started_at - x.committed) * 1000 AS ms
                FROM unnest($1::uuid[], $2::timestamptz[]) AS x(id, committed)
                JOIN flowsync.steps s ON s.execution_id = x.id
                """,
                ids,
                commits,
            )
        finally:
            stop_all(procs)
    finally:
        await conn.close()
    if len(rows) != len(ids):
        raise BenchError(f"pickup: {len(rows)} of {len(ids)} steps found")
    latencies = [float(r["ms"]) for r in rows]
    figures = {f"p{q}_ms": percentile(latencies, q) for q in (50, 95, 99)}
    return figures | {"min_ms": min(latencies), "max_ms": max(latencies)}
