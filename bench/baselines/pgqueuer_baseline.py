"""PgQueuer (a bench-only dependency) on the same server: drain, pickup and enqueue rate of
the same no-op jobs FlowSync runs.

Its workers run as separate processes, like FlowSync's, started with
`python -m bench.baselines.pgqueuer_baseline`: a QueueManager on one asyncpg connection (the
configuration PgQueuer's own benchmark uses), on uvloop (as PgQueuer's CLI runs it), with
`batch_size` 100 and no `max_concurrent_tasks` cap (PgQueuer requires the cap to be at least
twice the batch; no-op jobs finish within their batch, so at most ~100 run at once anyway).
Tables are durable (PgQueuer's default) with its recommended autovacuum settings applied.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from bench.context import BenchError, Context, committed, wait_until
from bench.load import closed_loop
from bench.procs import start_pgqueuer_workers, stop_all
from bench.stats import percentile

ENTRYPOINT = "noop"
DRAIN_TIMEOUT = 600.0


async def install(dsn: str) -> None:
    """Install PgQueuer's schema (durable tables) and its recommended autovacuum settings."""
    from pgqueuer.db import AsyncpgDriver
    from pgqueuer.queries import Queries

    conn = await asyncpg.connect(dsn)
    try:
        queries = Queries(AsyncpgDriver(conn))
        await queries.install()
        await queries.optimize_autovacuum()
    finally:
        await conn.close()


def _queries(conn: asyncpg.Connection[Any]) -> Any:
    from pgqueuer.db import AsyncpgDriver
    from pgqueuer.queries import Queries

    return Queries(AsyncpgDriver(conn))


# -- measurements (run in the harness) --------------------------------------------------------


async def drain(ctx: Context, processes: int) -> dict[str, float]:
    """`drain_executions` jobs enqueued in one statement while `processes` idle workers wait;
    jobs/s from that commit to the last job logged successful (server clock)."""
    jobs = ctx.sizes.drain_executions
    conn = await asyncpg.connect(ctx.dsn)
    procs, startup = await start_pgqueuer_workers(ctx, processes, f"pgq-drain{processes}")
    try:
        began = time.perf_counter()
        _, committed_at = await committed(
            conn, lambda: _queries(conn).enqueue([ENTRYPOINT] * jobs, [None] * jobs, [0] * jobs)
        )
        enqueue_s = time.perf_counter() - began

        async def drained() -> bool:
            left: int = await conn.fetchval("SELECT count(*) FROM pgqueuer")
            return left == 0

        await wait_until(drained, what="PgQueuer drain", within=DRAIN_TIMEOUT, procs=procs)
        row = await conn.fetchrow(
            """
            SELECT count(*) AS done, extract(epoch FROM max(created) - $1) AS seconds
            FROM pgqueuer_log WHERE status = 'successful'
            """,
            committed_at,
        )
        assert row is not None
        if row["done"] != jobs:
            raise BenchError(f"PgQueuer drain: {row['done']} of {jobs} jobs successful")
        rss = max(p.peak_rss_mb() for p in procs)
    finally:
        stop_all(procs)
        await conn.close()
    seconds = float(row["seconds"])
    return {
        "jobs_per_s": jobs / seconds,
        "drain_s": seconds,
        "startup_s": startup,
        "enqueue_statement_per_s": jobs / enqueue_s,
        "worker_peak_rss_mb": rss,
    }


async def pickup(ctx: Context) -> dict[str, float]:
    """Jobs enqueued one at a time, `pickup_interval_s` apart, with one idle worker: from
    the enqueue's commit to the job's pick (both server clocks)."""
    sizes = ctx.sizes
    conn = await asyncpg.connect(ctx.dsn)
    procs, _ = await start_pgqueuer_workers(ctx, 1, "pgq-pickup")
    try:
        queries = _queries(conn)
        ids: list[int] = []
        commits: list[datetime] = []
        began = time.monotonic()
        for i in range(sizes.warmup + sizes.pickup_samples):
            await asyncio.sleep(max(0.0, began + i * sizes.pickup_interval_s - time.monotonic()))
            [job_id], committed_at = await committed(
                conn, lambda: queries.enqueue(ENTRYPOINT, None)
            )
            if i >= sizes.warmup:
                ids.append(int(job_id))
                commits.append(committed_at)

        async def all_done() -> bool:
            left: int = await conn.fetchval("SELECT count(*) FROM pgqueuer")
            return left == 0

        await wait_until(all_done, what="PgQueuer pickup", within=60, procs=procs)
        rows = await conn.fetch(
            """
            SELECT extract(epoch FROM l.created - x.committed) * 1000 AS ms
            FROM unnest($1::bigint[], $2::timestamptz[]) AS x(job_id, committed)
            JOIN pgqueuer_log l ON l.job_id = x.job_id AND l.status = 'picked'
            """,
            ids,
            commits,
        )
    finally:
        stop_all(procs)
        await conn.close()
    if len(rows) != len(ids):
        raise BenchError(f"PgQueuer pickup: {len(rows)} of {len(ids)} jobs picked")
    latencies = [float(r["ms"]) for r in rows]
    figures = {f"p{q}_ms": percentile(latencies, q) for q in (50, 95, 99)}
    return figures | {"min_ms": min(latencies), "max_ms": max(latencies)}


async def enqueue_rate(ctx: Context, connections: int, batch: int) -> dict[str, float]:
    """Jobs enqueued per second through PgQueuer's `Queries.enqueue`."""
    sizes = ctx.sizes

    async def one(conn: asyncpg.Connection[Any]) -> int:
        await _queries(conn).enqueue(ENTRYPOINT, None)
        return 1

    async def many(conn: asyncpg.Connection[Any]) -> int:
        await _queries(conn).enqueue([ENTRYPOINT] * batch, [None] * batch, [0] * batch)
        return batch

    result = await closed_loop(
        ctx.dsn,
        connections=connections,
        calls=sizes.sql_batches if batch > 1 else sizes.sql_single_starts,
        call=many if batch > 1 else one,
        warmup=sizes.warmup,
    )
    return {"jobs_per_s": result.items_per_s}


# -- the worker process -------------------------------------------------------------------------


async def _serve(dsn: str, batch_size: int, ready_file: Path) -> None:
    from pgqueuer.db import AsyncpgDriver
    from pgqueuer.models import Job
    from pgqueuer.qm import QueueManager
    from pgqueuer.queries import Queries

    conn = await asyncpg.connect(dsn, server_settings={"application_name": "bench-pgqueuer"})
    qm = QueueManager(Queries(AsyncpgDriver(conn)))

    @qm.entrypoint(ENTRYPOINT)
    async def noop(job: Job) -> None:
        return None

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, qm.shutdown.set)
    runner = asyncio.create_task(qm.run(batch_size=batch_size))
    # Ready once a NOTIFY sent now comes back through the worker's LISTEN.
    while True:
        if runner.done():
            await runner
            return
        try:
            await qm.listener_healthy(timeout=timedelta(seconds=1))
        except Exception:  # noqa: S112 - not listening yet: try again
            continue
        break
    await asyncio.to_thread(ready_file.touch)
    await runner
    await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="a PgQueuer worker running no-op jobs")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--ready-file", type=Path, required=True)
    args = parser.parse_args()
    import uvloop

    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("pgqueuer").setLevel(logging.WARNING)
    uvloop.run(_serve(os.environ["FLOWSYNC_DATABASE_URL"], args.batch_size, args.ready_file))


if __name__ == "__main__":
    main()
