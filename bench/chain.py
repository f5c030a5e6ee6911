"""Chain: a CHAIN_LENGTH-step sequential workflow on an idle system (one worker process, one
execution at a time); the time per step is the gap between consecutive steps' starts (server
clock), i.e. run the action + report it + get the next step back."""

from __future__ import annotations

import itertools
from typing import Any

import asyncpg

from bench.context import BenchError, Context, committed, wait_until
from bench.procs import start_flowsync_workers, stop_all
from bench.stats import percentile
from bench.workflows import CHAIN, CHAIN_LENGTH


async def chain(ctx: Context) -> dict[str, float]:
    conn = await asyncpg.connect(ctx.dsn)
    gaps_ms: list[float] = []
    totals_ms: list[float] = []
    try:
        procs, _ = await start_flowsync_workers(ctx, conn, 1, "chain")
        try:
            for run in range(1 + ctx.sizes.chain_runs):  # the first one warms up
                gaps, total = await _one_chain(conn, procs)
                if run > 0:
                    gaps_ms += gaps
                    totals_ms.append(total)
        finally:
            stop_all(procs)
    finally:
        await conn.close()
    return {
        "step_p50_ms": percentile(gaps_ms, 50),
        "step_p95_ms": percentile(gaps_ms, 95),
        "execution_p50_ms": percentile(totals_ms, 50),
    }


async def _one_chain(conn: asyncpg.Connection[Any], procs: Any) -> tuple[list[float], float]:
    execution, committed_at = await committed(
        conn, lambda: conn.fetchval("SELECT flowsync.start_execution($1)", CHAIN)
    )

    async def finished() -> bool:
        status: str = await conn.fetchval(
            "SELECT status::text FROM flowsync.executions WHERE id = $1", execution
        )
        return status not in ("queued", "running")

    await wait_until(finished, what="chain", within=120, interval=0.01, procs=procs)
    rows = await conn.fetch(
        """
        SELECT s.status::text AS status, s.started_at, e.finished_at
        FROM flowsync.steps s JOIN flowsync.executions e ON e.id = s.execution_id
        WHERE s.execution_id = $1 ORDER BY s.node_idx
        """,
        execution,
    )
    if len(rows) != CHAIN_LENGTH or any(r["status"] != "succeeded" for r in rows):
        raise BenchError(f"chain: execution {execution} did not succeed step by step")
    starts = [r["started_at"] for r in rows]
    gaps = [(b - a).total_seconds() * 1000 for a, b in itertools.pairwise(starts)]
    gaps.append((rows[-1]["finished_at"] - starts[-1]).total_seconds() * 1000)
    return gaps, (rows[-1]["finished_at"] - committed_at).total_seconds() * 1000
