"""Fan-out: one execution of FANOUT_WIDTH parallel no-op steps joined by a final step, one
worker process (concurrency 100); steps/s from the start's commit to the execution's end."""

from __future__ import annotations

import asyncpg

from bench.context import BenchError, Context, committed, wait_until
from bench.procs import start_flowsync_workers, stop_all
from bench.workflows import FANOUT, FANOUT_STEPS


async def fanout(ctx: Context) -> dict[str, float]:
    conn = await asyncpg.connect(ctx.dsn)
    try:
        procs, _ = await start_flowsync_workers(ctx, conn, 1, "fanout")
        try:
            execution, committed_at = await committed(
                conn, lambda: conn.fetchval("SELECT flowsync.start_execution($1)", FANOUT)
            )

            async def finished() -> bool:
                status: str = await conn.fetchval(
                    "SELECT status::text FROM flowsync.executions WHERE id = $1", execution
                )
                return status not in ("queued", "running")

            await wait_until(finished, what="fan-out", within=300, interval=0.02, procs=procs)
            row = await conn.fetchrow(
                """
                SELECT e.status::text AS status,
                       extract(epoch FROM e.finished_at - $2) AS seconds,
                       (SELECT count(*) FROM flowsync.steps s
                        WHERE s.execution_id = e.id AND s.status = 'succeeded') AS steps
                FROM flowsync.executions e WHERE e.id = $1
                """,
                execution,
                committed_at,
            )
        finally:
            stop_all(procs)
    finally:
        await conn.close()
    assert row is not None
    if row["status"] != "succeeded" or row["steps"] != FANOUT_STEPS:
        raise BenchError(f"fan-out: {row['status']}, {row['steps']} of {FANOUT_STEPS} steps")
    seconds = float(row["seconds"])
    return {"steps_per_s": FANOUT_STEPS / seconds, "seconds": seconds}
