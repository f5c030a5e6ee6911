"""Drain: `drain_executions` single-step executions started in one statement (one
`flowsync.start_executions` call) while idle worker processes (concurrency 100 each) wait;
executions/s from that commit until the last execution finished (both server clocks). The
workers' start-up and the time the one start statement took are reported separately (not part
of the drain)."""

from __future__ import annotations

import json
import time

import asyncpg

from bench.context import BenchError, Context, committed, wait_until
from bench.procs import start_flowsync_workers, stop_all
from bench.workflows import NOOP

DRAIN_TIMEOUT = 600.0


async def drain(ctx: Context, workers: int) -> dict[str, float]:
    executions = ctx.sizes.drain_executions
    inputs = json.dumps([{}] * executions)
    conn = await asyncpg.connect(ctx.dsn)
    try:
        procs, startup = await start_flowsync_workers(ctx, conn, workers, f"drain{workers}")
        try:
            began = time.perf_counter()
            inserted, committed_at = await committed(
                conn,
                lambda: conn.fetchval(
                    "SELECT count(*) FROM flowsync.start_executions($1, $2)", NOOP, inputs
                ),
            )
            start_s = time.perf_counter() - began
            if inserted != executions:
                raise BenchError(f"drain: started {inserted} executions of {executions}")

            async def drained() -> bool:
                # A single-step execution is unfinished exactly while its step has a job or
                # a lease: two small tables, cheap to poll while the workers are measured.
                busy: bool = await conn.fetchval(
                    "SELECT EXISTS (SELECT FROM flowsync.jobs) "
                    "OR EXISTS (SELECT FROM flowsync.leases)"
                )
                return not busy

            await wait_until(drained, what="drain", within=DRAIN_TIMEOUT, procs=procs)
            row = await conn.fetchrow(
                """
                SELECT count(*) FILTER (WHERE status = 'succeeded') AS succeeded,
                       extract(epoch FROM max(finished_at) - $1) AS seconds
                FROM flowsync.executions
                """,
                committed_at,
            )
            assert row is not None
            if row["succeeded"] != executions:
                raise BenchError(f"drain: {row['succeeded']} of {executions} succeeded")
            rss = max(p.peak_rss_mb() for p in procs)
        finally:
            stop_all(procs)
    finally:
        await conn.close()
    seconds = float(row["seconds"])
    return {
        "executions_per_s": executions / seconds,
        "drain_s": seconds,
        "startup_s": startup,
        "start_statement_s": start_s,
        "start_statement_per_s": executions / start_s,
        "worker_peak_rss_mb": rss,
    }
