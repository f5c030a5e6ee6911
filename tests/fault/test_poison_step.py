"""A step that kills every worker that runs it ends dead instead of looping."""

from __future__ import annotations

import signal
import time

from tests.e2e.conftest import WorkerProcess
from tests.fault.conftest import FaultEngine

MAX_ATTEMPTS = 2
MAX_WORKERS = 4  # bound on restarts: a correct engine needs exactly MAX_ATTEMPTS


def test_step_that_kills_its_worker_goes_dead_after_max_attempts(engine: FaultEngine) -> None:
    """Guarantees 2 and 5: lost attempts count. A step whose action SIGKILLs its worker, with
    max_attempts 2, kills two workers (one per attempt, each rescued on lease expiry) and is
    then `dead`, its execution `failed`; no third worker ever runs it."""
    engine.save(
        {
            "name": "poison",
            "nodes": [
                {
                    "id": "poison",
                    "type": "fault.poison",
                    "retry": {"max_attempts": MAX_ATTEMPTS, "initial": "100ms", "jitter": False},
                },
                {"id": "never", "type": "noop", "depends_on": ["poison"]},
            ],
        }
    )
    execution_id = engine.start_now("poison")
    step_id = engine.steps(execution_id)["poison"]["id"]
    workers: list[WorkerProcess] = []

    deadline = time.monotonic() + 30
    while True:
        engine.rescue()  # the workers do this every 5 s, but they keep dying
        status = engine.steps(execution_id)["poison"]["status"]
        if status == "dead":
            break
        assert time.monotonic() < deadline, (
            f"step not dead after 30s; statuses {engine.statuses(execution_id)}\n"
            + engine.worker_logs()
        )
        # A new worker only once the step is back in the queue and every worker has died.
        if status == "queued" and all(w.proc.poll() is not None for w in workers):
            assert len(workers) < MAX_WORKERS, f"{len(workers)} workers died, step still queued"
            workers.append(engine.fault_worker("--lease", "1", "--poll", "1", name="victim"))
        time.sleep(0.05)

    execution = engine.wait_finished(execution_id, timeout=5)
    assert execution["status"] == "failed"
    steps = engine.steps(execution_id)
    assert steps["poison"]["attempt"] == MAX_ATTEMPTS
    assert steps["poison"]["error"]["type"] == "LeaseExpired"
    assert steps["never"]["status"] == "skipped"
    assert [(a["attempt"], a["outcome"]) for a in engine.attempts(step_id)] == [
        (1, "lease_expired"),
        (2, "dead"),
    ]

    assert len(workers) == MAX_ATTEMPTS
    for w in workers:
        assert w.wait(5) == -signal.SIGKILL
    runs = engine.runs(step_id, "start")
    assert [(r["attempt"], r["pid"]) for r in runs] == [
        (n + 1, w.proc.pid) for n, w in enumerate(workers)
    ]
