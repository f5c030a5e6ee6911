"""A worker dies or freezes mid-step: its lease expires and another worker takes over."""

from __future__ import annotations

import signal

from tests.fault.conftest import FaultEngine
from tests.processes import wait_for

RETRY = {"max_attempts": 3, "initial": "100ms", "jitter": False}


def slow_then_noop(name: str, sleep: float) -> dict[str, object]:
    return {
        "name": name,
        "defaults": {"retry": RETRY},
        "nodes": [
            {"id": "slow", "type": "fault.work", "config": {"sleep": sleep}},
            {"id": "after", "type": "noop", "depends_on": ["slow"]},
        ],
    }


def test_sigkilled_worker_step_is_rescued_and_finished_by_another(engine: FaultEngine) -> None:
    """Guarantees 1 and 2: a worker SIGKILLed while it runs a step loses its lease; the lost
    attempt is counted (attempt 2, a 'lease_expired' row naming the dead worker), another
    worker runs the step to completion exactly once, and the execution succeeds."""
    engine.save(slow_then_noop("crash", sleep=1.5))
    first = engine.fault_worker("--lease", "2", "--concurrency", "2", name="doomed")
    first_id = engine.worker_id(first)
    execution_id = engine.start_now("crash")
    slow = engine.steps(execution_id)["slow"]

    wait_for(lambda: engine.runs(slow["id"], "start"), 15, "the slow step to start")
    running = engine.steps(execution_id)["slow"]
    assert (running["status"], running["worker_id"], running["attempt"]) == (
        "running",
        first_id,
        1,
    )
    first.signal(signal.SIGKILL)
    assert first.wait(5) == -signal.SIGKILL

    second = engine.fault_worker("--lease", "2", name="survivor")
    second_id = engine.worker_id(second)

    def rescued() -> bool:
        engine.rescue()  # the workers do this every 5 s; calling it just saves time
        return any(a["outcome"] == "lease_expired" for a in engine.attempts(slow["id"]))

    wait_for(rescued, 10, "the dead worker's lease to expire and be rescued")
    execution = engine.wait_finished(execution_id, timeout=15)
    assert execution["status"] == "succeeded", engine.worker_logs()

    steps = engine.steps(execution_id)
    assert steps["slow"]["status"] == "succeeded"
    assert steps["slow"]["attempt"] == 2  # the lost attempt counts
    assert steps["slow"]["worker_id"] == second_id
    assert steps["slow"]["output"] == {"pid": second.proc.pid, "attempt": 2}
    assert steps["after"]["status"] == "succeeded"

    attempts = engine.attempts(slow["id"])
    assert [(a["attempt"], a["outcome"], a["worker_id"]) for a in attempts] == [
        (1, "lease_expired", first_id)
    ]
    assert attempts[0]["error"]["type"] == "LeaseExpired"

    starts = engine.runs(slow["id"], "start")
    assert [(r["attempt"], r["pid"]) for r in starts] == [
        (1, first.proc.pid),
        (2, second.proc.pid),
    ]
    dones = engine.runs(slow["id"], "done")
    assert [(r["attempt"], r["pid"]) for r in dones] == [(2, second.proc.pid)]


def test_frozen_worker_cannot_overwrite_the_newer_attempt(engine: FaultEngine) -> None:
    """Guarantee 2 (fencing): a worker frozen (SIGSTOP) mid-step loses its lease; another
    worker finishes the step; when the frozen one wakes up (SIGCONT) its late report carries
    a stale token and is rejected, so the step keeps the newer attempt's result."""
    engine.save(slow_then_noop("zombie", sleep=1.0))
    zombie = engine.fault_worker("--lease", "1", "--concurrency", "1", name="zombie")
    zombie_id = engine.worker_id(zombie)
    execution_id = engine.start_now("zombie")
    slow = engine.steps(execution_id)["slow"]
    wait_for(lambda: engine.runs(slow["id"], "start"), 15, "the slow step to start")
    zombie.signal(signal.SIGSTOP)
    try:
        live = engine.fault_worker("--lease", "2", name="live")

        def rescued() -> bool:
            engine.rescue()
            return bool(engine.attempts(slow["id"]))

        wait_for(rescued, 10, "the frozen worker's lease to expire and be rescued")
        execution = engine.wait_finished(execution_id, timeout=15)
        assert execution["status"] == "succeeded", engine.worker_logs()
        before = engine.steps(execution_id)["slow"]
        assert before["output"] == {"pid": live.proc.pid, "attempt": 2}
    finally:
        zombie.signal(signal.SIGCONT)

    # The zombie wakes up with an attempt it believes it holds: it either finishes it and
    # reports (rejected as stale) or learns from a heartbeat that the lease is gone.
    def zombie_gave_up() -> bool:
        log = zombie.log()
        return "step.report_rejected" in log or "step.lease_lost" in log

    wait_for(zombie_gave_up, 10, "the woken worker to learn it lost the step")
    after = engine.steps(execution_id)["slow"]
    assert after["status"] == "succeeded"
    assert after["output"] == before["output"]
    assert after["finished_at"] == before["finished_at"]
    assert after["attempt"] == 2
    assert engine.status(execution_id) == "succeeded"
    assert zombie.proc.poll() is None, "the woken worker should keep running"
    assert (
        engine.count(
            "SELECT count(*) FROM flowsync.steps WHERE worker_id = %s AND status = 'running'",
            zombie_id,
        )
        == 0
    )
