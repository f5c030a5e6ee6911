"""start_execution: steps created, roots queued, idempotency keys, errors, transactionality."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.sql.conftest import Db, chain

FAN = {
    "name": "fan",
    "nodes": [
        {"id": "a", "type": "noop"},
        {"id": "b", "type": "noop"},
        {"id": "join", "type": "noop", "depends_on": ["a", "b"]},
    ],
}


def test_roots_are_queued_and_the_rest_pending(db: Db) -> None:
    db.save(FAN)
    execution_id = db.start("fan", {"x": 1})
    assert db.statuses(execution_id) == {"a": "queued", "b": "queued", "join": "pending"}
    execution = db.execution(execution_id)
    assert execution["status"] == "queued"
    assert execution["input"] == {"x": 1}
    assert execution["steps_open"] == 3
    assert len(db.jobs()) == 2


def test_same_idempotency_key_returns_the_same_execution(db: Db) -> None:
    db.save(FAN)
    first = db.start("fan", {"x": 1}, key="k1")
    again = db.conn.execute(
        "SELECT * FROM flowsync.start_execution_ex('fan', %s, 'k1')", (Jsonb({"x": 1}),)
    ).fetchone()
    assert again == {"execution_id": first, "created": False, "version": 1, "status": "queued"}
    assert db.conn.execute("SELECT count(*) AS n FROM flowsync.executions").fetchone() == {"n": 1}


def test_same_key_with_another_input_is_refused(db: Db) -> None:
    db.save(FAN)
    db.start("fan", {"x": 1}, key="k1")
    with pytest.raises(psycopg.Error) as info:
        db.start("fan", {"x": 2}, key="k1")
    assert info.value.sqlstate == "FS004"


def test_unknown_and_archived_workflows_are_refused(db: Db) -> None:
    with pytest.raises(psycopg.Error) as unknown:
        db.start("nope")
    assert unknown.value.sqlstate == "FS001"
    db.save(FAN)
    db.conn.execute("SELECT flowsync.set_workflow_archived('fan', true)")
    with pytest.raises(psycopg.Error) as archived:
        db.start("fan")
    assert archived.value.sqlstate == "FS002"


def test_unknown_version_is_refused(db: Db) -> None:
    db.save(FAN)
    with pytest.raises(psycopg.Error) as info:
        db.conn.execute("SELECT flowsync.start_execution('fan', '{}', version => 7)")
    assert info.value.sqlstate == "FS003"


def test_executions_pin_their_version(db: Db) -> None:
    db.save(chain("c", 2))
    old = db.start("c")
    db.save(chain("c", 3))
    new = db.start("c")
    assert len(db.steps(old)) == 2 and len(db.steps(new)) == 3
    pinned = db.conn.execute(
        "SELECT flowsync.start_execution('c', '{}', version => 1) AS id"
    ).fetchone()
    assert pinned is not None and len(db.steps(pinned["id"])) == 2


def test_public_function_in_a_rolled_back_transaction_leaves_nothing(db: Db) -> None:
    db.save(FAN)
    with pytest.raises(RuntimeError), db.conn.transaction():
        db.conn.execute(
            "SELECT flowsync.start_execution('fan', '{\"x\": 1}', idempotency_key => 'k')"
        )
        raise RuntimeError("the application's transaction fails")
    assert db.conn.execute("SELECT count(*) AS n FROM flowsync.executions").fetchone() == {"n": 0}
    assert db.jobs() == []


def test_start_notifies_workers_once_per_queue(db: Db, database_dsn: str) -> None:
    db.save(FAN)
    with psycopg.connect(database_dsn, autocommit=True) as listener:
        listener.execute("LISTEN flowsync_jobs")
        db.start("fan")
        notes = list(listener.notifies(timeout=2, stop_after=1))
    assert len(notes) == 1
    assert notes[0].payload.startswith("default ")
