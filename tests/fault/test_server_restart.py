"""The Postgres server restarts under two busy workers: nothing is lost, nothing doubles."""

from __future__ import annotations

import time
from pathlib import Path

from tests.fault.conftest import (
    RestartableServer,
    assert_no_problems,
    dead_worker_problems,
    effectively_once_problems,
    make_engine,
)
from tests.processes import wait_for

EXECUTIONS = 200
CHAIN = 3
STEP_SLEEP = 0.05
PICKUP_SECONDS = 2.0


def chain_of_work(name: str) -> dict[str, object]:
    nodes: list[dict[str, object]] = [
        {"id": f"s{i}", "type": "fault.work", "config": {"sleep": STEP_SLEEP}} for i in range(CHAIN)
    ]
    for i in range(1, CHAIN):
        nodes[i]["depends_on"] = [f"s{i - 1}"]
    return {
        "name": name,
        "defaults": {"retry": {"max_attempts": 5, "initial": "100ms", "jitter": False}},
        "nodes": nodes,
    }


def test_server_restart_mid_run_loses_and_doubles_nothing(
    restartable_server: RestartableServer, tmp_path: Path
) -> None:
    """Guarantee 1 across a server restart: 200 three-step executions run on two workers and
    the server is stopped (fast shutdown, every connection dropped) and started again in the
    middle. Both workers stay up; every execution succeeds; each step succeeds with no
    attempt consumed except by a lease that expired while it really ran, runs to completion
    at most once per attempt and never after it succeeded. Afterwards the workers' LISTEN
    connections are back: with a 30 s poll interval, a new execution is picked up and
    finished within 2 s, which only a notification can explain."""
    engine = make_engine(restartable_server.dsn, tmp_path)
    try:
        engine.save(chain_of_work("restart"))
        args = ("--concurrency", "10", "--lease", "5", "--poll", "30")
        workers = [engine.fault_worker(*args, name=f"w{i}") for i in range(2)]
        for w in workers:
            engine.worker_id(w)
        ids = [engine.start_now("restart", {"n": n}) for n in range(EXECUTIONS)]

        def some_done() -> bool:
            done = "SELECT count(*) FROM public.fault_test_runs WHERE phase = 'done'"
            return engine.count(done) >= EXECUTIONS * CHAIN // 5

        wait_for(some_done, 30, "a fifth of the steps to run")
        engine.conn.close()
        restartable_server.restart()
        engine.reconnect()
        unfinished = engine.count(
            "SELECT count(*) FROM flowsync.executions WHERE status NOT IN "
            "('succeeded', 'failed', 'cancelled')"
        )
        assert unfinished > 0, "the run finished before the restart: nothing was tested"

        engine.wait_finished_unless_workers_died(ids, workers)
        problems = dead_worker_problems(workers)

        # Pickup after the restart. Every live worker listens again (the first query on a
        # new LISTEN connection is its LISTEN) ...
        alive = sum(w.proc.poll() is None for w in workers)
        if not alive:
            assert_no_problems(problems)
        wait_for(
            lambda: (
                engine.count(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE application_name = 'flowsync-worker-listen' AND query <> ''"
                )
                == alive
            ),
            10,
            "the workers' LISTEN connections to come back",
        )
        # ... and, idle with a 30 s poll, picks up a new execution at once.
        started = time.monotonic()
        late = engine.start_now("restart", {"n": "late"})
        try:
            engine.wait_finished(late, timeout=PICKUP_SECONDS)
        except AssertionError:
            problems.append(f"a new execution was not finished {PICKUP_SECONDS}s after start")
            engine.wait_finished(late, timeout=40)
        took = time.monotonic() - started

        found, summary = effectively_once_problems(engine, [*ids, late], CHAIN)
        problems += found
        print(f"restart: {unfinished} unfinished at the restart; pickup {took:.2f}s; {summary}")
        if engine.count("SELECT count(*) FROM flowsync.jobs"):
            problems.append("jobs left in the queue")
        assert_no_problems(problems)
    finally:
        for w in engine.workers:
            w.stop()
        engine.conn.close()
