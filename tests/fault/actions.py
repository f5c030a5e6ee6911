"""Custom actions for the fault tests: steps that record every run of themselves, sleep, or die.

Loaded by worker subprocesses with `--actions tests/fault/actions.py`. Each run writes rows
into `public.fault_test_runs` of the worker's database (FLOWSYNC_DATABASE_URL; the
tests create the table, see RUNS_TABLE_SQL in conftest.py):

    run starts ──▶ ('start', run_id, step_id, attempt, pid)
    run ends   ──▶ ('done',  run_id, ...)          (only if the action body got that far)

so a test can count how many times a step really ran, by which process, and when. The writes
use a pool of their own (application name `fault-test-actions`, so the connection-killing
test hits only the worker's own connections) and retry through connection loss; a unique
(run_id, phase) makes a retried insert whose first answer was lost count once.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
import uuid
from typing import Any

import asyncpg

from flowsync.actions import StepContext, action
from flowsync.worker.transient import TRANSIENT_ERRORS

_INSERT = """
WITH ins AS (
    INSERT INTO public.fault_test_runs (run_id, phase, step_id, execution_id, node_id, attempt, pid)
    VALUES ($1, $2, $3, $4, $5, $6, $7)
    ON CONFLICT (run_id, phase) DO NOTHING
)
SELECT count(*) FROM public.fault_test_runs
WHERE step_id = $3 AND phase = 'start' AND run_id <> $1
"""

RECORD_DEADLINE_SECONDS = 30.0
# asyncpg can also raise InternalClientError when a connection dies mid-operation
# (MagicStack/asyncpg#784); the recorder must ride through that too.
_RETRY_ON = (*TRANSIENT_ERRORS, asyncpg.InternalClientError)

_pool: asyncpg.Pool[Any] | None = None
_pool_lock: asyncio.Lock | None = None


async def _get_pool() -> asyncpg.Pool[Any]:
    global _pool, _pool_lock
    if _pool_lock is None:
        _pool_lock = asyncio.Lock()
    async with _pool_lock:
        if _pool is None:
            _pool = await asyncpg.create_pool(
                os.environ["FLOWSYNC_DATABASE_URL"],
                min_size=1,
                max_size=10,
                server_settings={"application_name": "fault-test-actions"},
            )
        return _pool


async def record(ctx: StepContext, run_id: uuid.UUID, phase: str) -> int:
    """Write one run row, retrying through connection loss; returns how many *other* runs of
    this step had started before."""
    deadline = time.monotonic() + RECORD_DEADLINE_SECONDS
    delay = 0.05
    while True:
        try:
            pool = await _get_pool()
            earlier: int = await pool.fetchval(
                _INSERT,
                run_id,
                phase,
                ctx.step_id,
                ctx.execution_id,
                ctx.node_id,
                ctx.attempt,
                os.getpid(),
                timeout=5,
            )
            return earlier
        except _RETRY_ON:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)


def _seconds(value: Any) -> float:
    """A number of seconds, or [low, high] for a random duration in that range."""
    if isinstance(value, list):
        low, high = value
        return random.uniform(float(low), float(high))
    return float(value or 0)


@action("fault.work")
async def work(ctx: StepContext) -> dict[str, Any]:
    """Record the start, sleep `config.sleep` seconds (or `config.first_run_sleep` on the
    step's very first run), record the end. The output names the process that ran it."""
    run_id = uuid.uuid4()
    earlier_runs = await record(ctx, run_id, "start")
    first_run_sleep = ctx.config.get("first_run_sleep")
    if first_run_sleep is not None and earlier_runs == 0:
        await asyncio.sleep(_seconds(first_run_sleep))
    else:
        await asyncio.sleep(_seconds(ctx.config.get("sleep")))
    await record(ctx, run_id, "done")
    return {"pid": os.getpid(), "attempt": ctx.attempt}


@action("fault.poison")
async def poison(ctx: StepContext) -> None:
    """Record the start, then kill the worker process running it (SIGKILL: no cleanup)."""
    await record(ctx, uuid.uuid4(), "start")
    os.kill(os.getpid(), signal.SIGKILL)
