"""SIGTERM under load: the worker stops claiming, finishes or hands back, and exits in time."""

from __future__ import annotations

import signal
import time
from uuid import UUID

from tests.fault.conftest import FaultEngine, assert_no_problems, effectively_once_problems
from tests.processes import wait_for

GRACE = 3.0
MARGIN = 2.5
CONCURRENCY = 10
LONG = 2  # steps whose first run outlasts the grace period
CHAINS = 20


def test_sigterm_finishes_or_hands_back_within_grace(engine: FaultEngine) -> None:
    """Guarantee 1 on a clean stop (DESIGN §6): a worker running 10 steps gets SIGTERM. It
    stops claiming, lets the steps that end within the grace period finish and report, hands
    back those that don't ('handed_back', the attempt given back), and exits with code 0
    within the grace period plus a margin, leaving no step running under its id. A new
    worker then finishes everything, each step completing exactly once."""
    engine.save(
        {
            "name": "long",
            "nodes": [
                {
                    "id": "long",
                    "type": "fault.work",
                    "config": {"first_run_sleep": 60, "sleep": 0.2},
                }
            ],
        }
    )
    chain: dict[str, object] = {
        "name": "short",
        "nodes": [
            {"id": "a", "type": "fault.work", "config": {"sleep": [0.5, 1.0]}},
            {"id": "b", "type": "fault.work", "config": {"sleep": [0.5, 1.0]}, "depends_on": ["a"]},
        ],
    }
    engine.save(chain)
    first = engine.fault_worker(
        "--concurrency", str(CONCURRENCY), "--grace", str(GRACE), "--lease", "5", name="first"
    )
    first_id = engine.worker_id(first)
    long_ids: list[UUID] = [engine.start_now("long", {"n": n}) for n in range(LONG)]
    wait_for(
        lambda: engine.count("SELECT count(*) FROM public.fault_test_runs") == LONG,
        15,
        "the long steps to start",
    )
    short_ids = [engine.start_now("short", {"n": n}) for n in range(CHAINS)]
    wait_for(
        lambda: (
            engine.count(
                "SELECT count(*) FROM flowsync.steps WHERE status = 'running' AND worker_id = %s",
                first_id,
            )
            == CONCURRENCY
        ),
        15,
        "the first worker to run 10 steps",
    )

    signalled_at = engine.conn.execute("SELECT clock_timestamp() AS t").fetchone()
    assert signalled_at is not None
    started = time.monotonic()
    first.signal(signal.SIGTERM)
    code = first.wait(GRACE + MARGIN + 5)
    took = time.monotonic() - started
    print(f"sigterm: the worker exited {took:.2f}s after SIGTERM (grace {GRACE}s)")
    assert code == 0, first.log()[-4000:]
    assert took <= GRACE + MARGIN, f"exited {took:.1f}s after SIGTERM (grace {GRACE}s)"

    assert (
        engine.count(
            "SELECT count(*) FROM flowsync.steps WHERE status = 'running' AND worker_id = %s",
            first_id,
        )
        == 0
    )
    # It stopped claiming: nothing started on it well after the signal.
    late_starts = engine.count(
        "SELECT count(*) FROM public.fault_test_runs WHERE pid = %s AND phase = 'start' "
        "AND at > %s + interval '1 second'",
        first.proc.pid,
        signalled_at["t"],
    )
    assert late_starts == 0, f"{late_starts} steps started on the stopping worker"
    # Steps it ran to the end were reported before it left: none of them is still open.
    unreported = engine.conn.execute(
        """
        SELECT r.step_id, s.status::text AS status FROM public.fault_test_runs r
        JOIN flowsync.steps s ON s.id = r.step_id
        WHERE r.pid = %s AND r.phase = 'done' AND s.status <> 'succeeded'
        """,
        (first.proc.pid,),
    ).fetchall()
    assert unreported == [], unreported
    handed_back = engine.conn.execute(
        "SELECT a.execution_id, a.attempt, a.worker_id FROM flowsync.step_attempts a "
        "WHERE a.outcome = 'handed_back' ORDER BY a.execution_id"
    ).fetchall()
    assert sorted((h["execution_id"], h["attempt"], h["worker_id"]) for h in handed_back) == sorted(
        (e, 1, first_id) for e in long_ids
    )
    for execution_id in long_ids:
        step = engine.steps(execution_id)["long"]
        assert (step["status"], step["attempt"]) == ("queued", 0)

    second = engine.fault_worker("--concurrency", str(CONCURRENCY), "--lease", "5", name="second")
    engine.wait_all_finished(long_ids + short_ids, timeout=30)
    assert second.proc.poll() is None, second.log()[-4000:]
    assert_no_problems(effectively_once_problems(engine, short_ids, 2)[0])
    assert_no_problems(effectively_once_problems(engine, long_ids, 1)[0])
    for execution_id in long_ids:
        step = engine.steps(execution_id)["long"]
        assert step["attempt"] == 1  # the handed-back attempt was given back
        assert step["output"] == {"pid": second.proc.pid, "attempt": 1}
        starts = engine.runs(step["id"], "start")
        assert [r["pid"] for r in starts] == [first.proc.pid, second.proc.pid]
