"""A first end-to-end run: a chain of 20 steps through a real worker process."""

from __future__ import annotations

from tests.e2e.conftest import Engine
from tests.sql.conftest import chain


def test_chain_of_20_steps(engine: Engine) -> None:
    engine.save(chain("chain20", 20))
    engine.worker("--concurrency", "4")
    execution_id = engine.start_now("chain20")
    execution = engine.wait_finished(execution_id, timeout=30)
    assert execution["status"] == "succeeded", engine.worker_logs()
    steps = engine.steps(execution_id)
    assert [s["status"] for s in steps.values()] == ["succeeded"] * 20
    assert all(s["attempt"] == 1 for s in steps.values())
    order = sorted(steps.values(), key=lambda s: s["started_at"])
    assert [s["node_id"] for s in order] == [f"s{i}" for i in range(20)]
