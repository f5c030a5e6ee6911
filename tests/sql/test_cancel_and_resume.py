"""cancel_execution and resume_execution (and replay of one dead step)."""

from __future__ import annotations

from tests.sql.conftest import Db, chain


def cancel(db: Db, execution_id: object) -> str:
    row = db.conn.execute(
        "SELECT flowsync.cancel_execution(%s, 'test') AS r", (execution_id,)
    ).fetchone()
    assert row is not None
    return str(row["r"])


def resume(db: Db, execution_id: object, step_ids: list[int] | None = None) -> str:
    row = db.conn.execute(
        "SELECT flowsync.resume_execution(%s, %s) AS r", (execution_id, step_ids)
    ).fetchone()
    assert row is not None
    return str(row["r"])


def test_cancel_stops_everything_and_rejects_late_reports(db: Db) -> None:
    db.save(
        {
            "name": "c",
            "nodes": [
                {"id": "a", "type": "noop"},
                {"id": "b", "type": "noop"},
                {"id": "c", "type": "noop", "depends_on": ["a", "b"]},
            ],
        }
    )
    execution_id = db.start("c")
    (running,) = db.claim(limit=1)
    assert cancel(db, execution_id) == "cancelled"
    assert set(db.statuses(execution_id).values()) == {"cancelled"}
    assert db.jobs() == []
    assert db.succeed(running) == "stale"
    execution = db.execution(execution_id)
    assert execution["status"] == "cancelled" and execution["error"]["reason"] == "test"
    assert cancel(db, execution_id) == "already_cancelled"
    assert resume(db, execution_id) == "cancelled"


def test_cancel_of_finished_or_unknown_execution(db: Db) -> None:
    db.save(chain("one", 1))
    execution_id = db.start("one")
    db.run_all()
    assert cancel(db, execution_id) == "already_succeeded"
    assert db.execution(execution_id)["status"] == "succeeded"
    assert cancel(db, "00000000-0000-0000-0000-000000000000") == "not_found"


def test_resume_reruns_only_what_failed_or_never_ran(db: Db) -> None:
    db.save(chain("c", 4))
    execution_id = db.start("c")
    db.succeed(db.claim()[0], "first")
    db.fail(db.claim()[0], retryable=False)
    assert db.statuses(execution_id) == {
        "s0": "succeeded",
        "s1": "failed",
        "s2": "skipped",
        "s3": "skipped",
    }
    assert db.execution(execution_id)["status"] == "failed"
    assert resume(db, execution_id) == "resumed"
    assert db.execution(execution_id)["status"] == "running"
    assert db.statuses(execution_id) == {
        "s0": "succeeded",
        "s1": "queued",
        "s2": "pending",
        "s3": "pending",
    }
    claims = db.claim()
    assert [c["node_id"] for c in claims] == ["s1"]
    assert claims[0]["upstream"] == {"s0": {"output": "first"}}
    db.succeed(claims[0])
    db.run_all()
    assert db.execution(execution_id)["status"] == "succeeded"
    assert db.steps(execution_id)["s0"]["output"] == "first"
    assert resume(db, execution_id) == "succeeded"


def test_replay_of_one_dead_step_leaves_the_other_failure(db: Db) -> None:
    db.save(
        {
            "name": "two",
            "nodes": [
                {"id": "a", "type": "noop", "retry": {"max_attempts": 1}},
                {"id": "b", "type": "noop", "retry": {"max_attempts": 1}},
                {"id": "after_a", "type": "noop", "depends_on": ["a"]},
            ],
        }
    )
    execution_id = db.start("two")
    for claim in db.claim():
        db.fail(claim)
    steps = db.steps(execution_id)
    assert {k: v["status"] for k, v in steps.items()} == {
        "a": "dead",
        "b": "dead",
        "after_a": "skipped",
    }
    assert resume(db, execution_id, [steps["a"]["id"]]) == "resumed"
    db.run_all()
    assert db.statuses(execution_id) == {"a": "succeeded", "b": "dead", "after_a": "succeeded"}
    assert db.execution(execution_id)["status"] == "failed"
    assert resume(db, execution_id, [steps["a"]["id"]]) == "nothing_to_resume"
    events = db.conn.execute("SELECT kind, detail FROM flowsync.execution_events").fetchall()
    assert events == [{"kind": "replayed", "detail": {"steps": ["a"]}}]


def test_resume_of_branching_workflow_recomputes_skips(db: Db) -> None:
    db.save(
        {
            "name": "br",
            "nodes": [
                {"id": "check", "type": "condition", "config": {"expr": "true"}},
                {"id": "yes", "type": "noop", "depends_on": [{"node": "check", "when": True}]},
                {"id": "no", "type": "noop", "depends_on": [{"node": "check", "when": False}]},
            ],
        }
    )
    execution_id = db.start("br")
    db.succeed(db.claim()[0], outcome=True)
    db.fail(db.claim()[0], retryable=False)
    assert db.statuses(execution_id) == {"check": "succeeded", "yes": "failed", "no": "skipped"}
    assert resume(db, execution_id) == "resumed"
    assert db.statuses(execution_id) == {"check": "succeeded", "yes": "queued", "no": "skipped"}
    db.run_all()
    assert db.execution(execution_id)["status"] == "succeeded"
