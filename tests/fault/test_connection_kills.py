"""The workers' connections are killed again and again under load: they recover, losing and
doubling nothing."""

from __future__ import annotations

import time
from uuid import UUID

from tests.fault.conftest import (
    FaultEngine,
    assert_no_problems,
    dead_worker_problems,
    effectively_once_problems,
)

CHAIN = 3
CHAOS_SECONDS = 10.0
KILLS_PER_SECOND = 2
UPFRONT = 60
STARTED_PER_TICK = 4

TERMINATE = """
SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity
WHERE application_name LIKE 'flowsync-worker%' AND datname = current_database()
"""


def chain_of_work(name: str) -> dict[str, object]:
    nodes: list[dict[str, object]] = [
        {"id": f"s{i}", "type": "fault.work", "config": {"sleep": [0.1, 0.3]}} for i in range(CHAIN)
    ]
    for i in range(1, CHAIN):
        nodes[i]["depends_on"] = [f"s{i - 1}"]
    return {
        "name": name,
        "defaults": {"retry": {"max_attempts": 5, "initial": "100ms", "jitter": False}},
        "nodes": nodes,
    }


def test_terminated_connections_lose_and_double_nothing(engine: FaultEngine) -> None:
    """Guarantees 1-3 under connection loss: every connection of two busy workers (pool and
    LISTEN alike) is terminated twice a second for 10 s while executions keep starting. The
    workers stay up; every execution succeeds; no step is lost, none consumes an attempt
    except through a lease that expired while it really ran, none runs to completion more
    than once per attempt, and none starts again once it has succeeded."""
    engine.save(chain_of_work("chaos"))
    args = ("--concurrency", "10", "--lease", "3", "--poll", "2")
    workers = [engine.fault_worker(*args, name=f"w{i}") for i in range(2)]
    for w in workers:
        engine.worker_id(w)
    ids: list[UUID] = [engine.start_now("chaos", {"n": n}) for n in range(UPFRONT)]

    terminated = 0
    tick = 1.0 / KILLS_PER_SECOND
    chaos_start = time.monotonic()
    for i in range(int(CHAOS_SECONDS * KILLS_PER_SECOND)):
        row = engine.conn.execute(TERMINATE).fetchone()
        assert row is not None
        terminated += int(row["n"])
        ids += [engine.start_now("chaos", {"n": f"{i}.{k}"}) for k in range(STARTED_PER_TICK)]
        # Pacing the fault injection, not waiting for an outcome.
        time.sleep(max(0.0, chaos_start + (i + 1) * tick - time.monotonic()))
    assert terminated >= 20, f"only {terminated} connections were terminated"
    still_running = engine.count(
        "SELECT count(*) FROM flowsync.executions WHERE status NOT IN "
        "('succeeded', 'failed', 'cancelled')"
    )

    engine.wait_finished_unless_workers_died(ids, workers)
    problems = dead_worker_problems(workers)
    found, summary = effectively_once_problems(engine, ids, CHAIN)
    problems += found
    print(
        f"chaos: {terminated} connections terminated, {still_running} executions unfinished "
        f"when it stopped; {summary}"
    )
    if engine.count("SELECT count(*) FROM flowsync.jobs"):
        problems.append("jobs left in the queue")
    assert_no_problems(problems)
