"""The physical floor: the leanest job queue Postgres can run durably, driven by the same
driver (asyncpg, prepared statements) on the same server.

    jobs(id, lease_expires_at)                    partial index: ready jobs by id
    claim:    UPDATE … SET lease_expires_at = now() + 30 s
              WHERE id IN (SELECT … WHERE lease_expires_at IS NULL ORDER BY id
                           LIMIT n FOR UPDATE SKIP LOCKED) RETURNING id      (transaction 1)
    complete: DELETE … WHERE id = ANY(ids)                                   (transaction 2)

Nothing else: no payload, no retries, no history, no NOTIFY. Any real engine does more per
job; the ratio to this says how much more.
"""

from __future__ import annotations

import time
from typing import Any

import asyncpg

from bench.context import BenchError, Context
from bench.load import closed_loop
from bench.stats import percentile

# Same autovacuum settings as FlowSync's own hot table (flowsync.jobs).
DDL = """
CREATE SCHEMA bench_floor;
CREATE TABLE bench_floor.jobs (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    lease_expires_at  timestamptz
) WITH (
    autovacuum_vacuum_scale_factor = 0.0,
    autovacuum_vacuum_threshold = 5000,
    autovacuum_vacuum_insert_scale_factor = 0.0,
    autovacuum_vacuum_insert_threshold = 5000,
    autovacuum_analyze_scale_factor = 0.05
);
CREATE INDEX jobs_ready_idx ON bench_floor.jobs (id) WHERE lease_expires_at IS NULL;
"""

CLAIM = """
UPDATE bench_floor.jobs j SET lease_expires_at = now() + interval '30 seconds'
WHERE j.id IN (SELECT c.id FROM bench_floor.jobs c WHERE c.lease_expires_at IS NULL
               ORDER BY c.id LIMIT $1 FOR UPDATE SKIP LOCKED)
RETURNING j.id
"""
CLAIM_ONE = """
UPDATE bench_floor.jobs j SET lease_expires_at = now() + interval '30 seconds'
WHERE j.id = (SELECT c.id FROM bench_floor.jobs c WHERE c.lease_expires_at IS NULL
              ORDER BY c.id LIMIT 1 FOR UPDATE SKIP LOCKED)
RETURNING j.id
"""
COMPLETE = "DELETE FROM bench_floor.jobs WHERE id = ANY ($1::bigint[])"
COMPLETE_ONE = "DELETE FROM bench_floor.jobs WHERE id = $1"
INSERT_ONE = "INSERT INTO bench_floor.jobs DEFAULT VALUES"
INSERT_MANY = (
    "INSERT INTO bench_floor.jobs (lease_expires_at) SELECT NULL FROM generate_series(1, $1)"
)


def install(conn: Any) -> None:
    """Create the floor's table (`conn`: a psycopg connection to the template)."""
    conn.execute(DDL.encode())


async def cycle(ctx: Context, batch: int) -> dict[str, float]:
    """One client claims and completes `batch` jobs per cycle until the table is empty."""
    jobs = ctx.sizes.floor_batch_jobs if batch > 1 else ctx.sizes.floor_single_jobs
    conn = await asyncpg.connect(ctx.dsn)
    try:
        await conn.execute(INSERT_MANY, jobs)
        claim = await conn.prepare(CLAIM_ONE if batch == 1 else CLAIM)
        complete = await conn.prepare(COMPLETE_ONE if batch == 1 else COMPLETE)
        cycles: list[float] = []
        done = 0
        started = last = time.perf_counter()
        while True:
            t = time.perf_counter()
            rows = await (claim.fetch() if batch == 1 else claim.fetch(batch))
            if not rows:
                break
            ids = [r[0] for r in rows]
            await (complete.fetch(ids[0]) if batch == 1 else complete.fetch(ids))
            last = time.perf_counter()
            cycles.append(last - t)
            done += len(ids)
        if done != jobs:
            raise BenchError(f"floor: completed {done} jobs of {jobs}")
        return {
            "jobs_per_s": done / (last - started),
            "cycle_p50_ms": percentile(cycles, 50) * 1000,
            "cycle_p95_ms": percentile(cycles, 95) * 1000,
        }
    finally:
        await conn.close()


async def insert_rate(ctx: Context, connections: int, batch: int) -> dict[str, float]:
    """Jobs inserted per second: one per transaction, or `batch` per statement."""
    sizes = ctx.sizes

    async def one(conn: asyncpg.Connection[Any]) -> int:
        await conn.execute(INSERT_ONE)
        return 1

    async def many(conn: asyncpg.Connection[Any]) -> int:
        await conn.execute(INSERT_MANY, batch)
        return batch

    result = await closed_loop(
        ctx.dsn,
        connections=connections,
        calls=sizes.sql_batches if batch > 1 else sizes.sql_single_starts,
        call=many if batch > 1 else one,
        warmup=sizes.warmup,
    )
    return {"jobs_per_s": result.items_per_s}
