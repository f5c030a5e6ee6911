"""start_executions: the rows of as many single starts, input order, idempotency keys within and
across batches (also concurrent ones), errors, wake-ups, the empty batch."""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from flowsync.store.errors import InvalidBatch, translate
from tests.processes import wait_for
from tests.sql.conftest import T0, Db, at, chain

# Two roots on two queues and a join: steps of both kinds, jobs on two queues.
TWO_QUEUES = {
    "name": "two-queues",
    "nodes": [
        {"id": "a", "type": "noop"},
        {"id": "b", "type": "noop", "queue": "side"},
        {"id": "join", "type": "noop", "depends_on": ["a", "b"]},
    ],
}
INPUTS: list[Any] = [{"order": 1}, {"order": 2}, [1, "two"], None, {"order": 1}]
KEYS = ["k1", None, "k3", "k4", None]
WAIT_S = 30.0


def start_many(
    db: Db,
    workflow: str,
    inputs: Any,
    keys: list[str | None] | None = None,
    version: int | None = None,
    now: datetime = T0,
) -> list[dict[str, Any]]:
    return db.conn.execute(
        "SELECT * FROM flowsync.start_executions_ex(%s, %s, %s, %s, %s)",
        (workflow, Jsonb(inputs), keys, version, now),
    ).fetchall()


def start_one(db: Db, workflow: str, input: Any, key: str | None) -> UUID:
    row = db.conn.execute(
        "SELECT execution_id FROM flowsync.start_execution_ex(%s, %s, %s, NULL, %s)",
        (workflow, Jsonb(input), key, T0),
    ).fetchone()
    assert row is not None
    return UUID(str(row["execution_id"]))


def count(db: Db, table: str) -> int:
    row = db.conn.execute(f"SELECT count(*) AS n FROM flowsync.{table}").fetchone()
    assert row is not None
    return int(row["n"])


def rows_of(db: Db, execution_ids: list[UUID]) -> dict[str, Any]:
    """Everything the starts wrote, with ids replaced by the execution's position and the
    step's node, so that two databases' starts compare equal."""
    position = {execution_id: i for i, execution_id in enumerate(execution_ids)}
    executions = db.conn.execute("SELECT * FROM flowsync.executions").fetchall()
    steps = db.conn.execute("SELECT * FROM flowsync.steps ORDER BY id").fetchall()
    jobs = db.conn.execute(
        "SELECT j.*, s.execution_id, s.node_idx FROM flowsync.jobs j "
        "JOIN flowsync.steps s ON s.id = j.step_id ORDER BY j.step_id"
    ).fetchall()
    return {
        "executions": sorted(
            ({**e, "id": position[e["id"]]} for e in executions), key=lambda e: e["id"]
        ),
        # in step id order: the ids are drawn in execution order, then node order
        "steps": [{**s, "id": None, "execution_id": position[s["execution_id"]]} for s in steps],
        "jobs": [{**j, "step_id": None, "execution_id": position[j["execution_id"]]} for j in jobs],
    }


def test_rows_are_those_of_as_many_single_starts(db: Db) -> None:
    db.save(TWO_QUEUES)
    singles = [start_one(db, "two-queues", i, k) for i, k in zip(INPUTS, KEYS, strict=True)]
    expected = rows_of(db, singles)
    db.conn.execute("TRUNCATE flowsync.executions, flowsync.jobs CASCADE")

    started = start_many(db, "two-queues", INPUTS, KEYS)

    assert [r["ordinality"] for r in started] == [1, 2, 3, 4, 5]
    assert all(r["created"] and r["version"] == 1 and r["status"] == "queued" for r in started)
    assert rows_of(db, [r["execution_id"] for r in started]) == expected
    assert len(expected["steps"]) == 15 and len(expected["jobs"]) == 10


def test_each_item_answers_the_execution_of_its_own_input(db: Db) -> None:
    db.save(chain("c", 1))
    inputs = [{"n": n} for n in range(50)]
    keys = [f"k{n}" if n % 3 else None for n in range(50)]
    first = start_many(db, "c", inputs, keys)
    # a repeat, with new keyless items in between
    again = start_many(db, "c", inputs, keys)

    for n, (row, repeat) in enumerate(zip(first, again, strict=True)):
        assert row["ordinality"] == repeat["ordinality"] == n + 1
        assert db.execution(row["execution_id"])["input"] == {"n": n}
        assert db.execution(repeat["execution_id"])["input"] == {"n": n}
        assert repeat["created"] == (keys[n] is None)
        assert (repeat["execution_id"] == row["execution_id"]) == (keys[n] is not None)


def test_public_function_returns_ordinality_id_and_created(db: Db) -> None:
    db.save(chain("c", 2))
    rows = db.conn.execute(
        "SELECT * FROM flowsync.start_executions('c', '[{\"a\": 1}, {\"a\": 2}]', "
        "idempotency_keys => ARRAY['x', NULL])"
    ).fetchall()
    assert [(r["ordinality"], r["created"]) for r in rows] == [(1, True), (2, True)]
    assert set(rows[0]) == {"ordinality", "execution_id", "created"}
    assert db.statuses(rows[1]["execution_id"]) == {"s0": "queued", "s1": "pending"}


def test_an_empty_batch_starts_nothing(db: Db) -> None:
    db.save(chain("c", 1))
    assert start_many(db, "c", []) == []
    assert start_many(db, "c", [], []) == []
    db.conn.execute("SELECT flowsync.set_workflow_archived('c', true)")
    assert start_many(db, "c", []) == []
    assert count(db, "executions") == 0 and count(db, "jobs") == 0


def test_a_key_used_before_answers_its_execution(db: Db) -> None:
    db.save(chain("c", 2))
    earlier = start_one(db, "c", {"a": 1}, "k")
    rows = start_many(db, "c", [{"b": 2}, {"a": 1}], [None, "k"])
    assert rows[1] == {
        "ordinality": 2,
        "execution_id": earlier,
        "created": False,
        "version": 1,
        "status": "queued",
    }
    assert rows[0]["created"] and count(db, "executions") == 2


def test_a_key_used_before_with_another_request_refuses_the_whole_batch(db: Db) -> None:
    db.save(chain("c", 1))
    start_one(db, "c", {"a": 1}, "k")
    with pytest.raises(psycopg.Error) as info:
        start_many(db, "c", [{"b": 2}, {"c": 3}, {"a": 2}], [None, "new", "k"])
    assert info.value.sqlstate == "FS004"
    assert '"k"' in str(info.value) and info.value.diag.message_detail == "item 3"
    assert count(db, "executions") == 1  # nothing of the batch is left


def test_a_key_repeated_within_a_batch_starts_one_execution(db: Db) -> None:
    db.save(chain("c", 1))
    rows = start_many(db, "c", [{"a": 1}, {"b": 1}, {"a": 1}], ["k", None, "k"])
    assert [r["created"] for r in rows] == [True, True, False]
    assert rows[2]["execution_id"] == rows[0]["execution_id"]
    assert rows[2]["status"] == "queued" and rows[2]["version"] == 1
    assert count(db, "executions") == 2 and count(db, "jobs") == 2


def test_a_key_repeated_within_a_batch_with_another_input_is_refused(db: Db) -> None:
    db.save(chain("c", 1))
    with pytest.raises(psycopg.Error) as info:
        start_many(db, "c", [{"a": 1}, {"b": 1}, {"a": 2}], ["k", None, "k"])
    assert info.value.sqlstate == "FS004"
    assert info.value.diag.message_detail == ("item 3 repeats the key of item 1 with another input")
    assert count(db, "executions") == 0


def test_keyless_items_with_equal_inputs_are_separate_executions(db: Db) -> None:
    db.save(chain("c", 1))
    rows = start_many(db, "c", [{}, {}, {}])
    assert len({r["execution_id"] for r in rows}) == 3


def test_executions_pin_the_version_asked_for(db: Db) -> None:
    db.save(chain("c", 2))
    db.save(chain("c", 3))
    latest = start_many(db, "c", [{}])[0]
    pinned = start_many(db, "c", [{}], version=1)[0]
    assert (latest["version"], len(db.steps(latest["execution_id"]))) == (2, 3)
    assert (pinned["version"], len(db.steps(pinned["execution_id"]))) == (1, 2)


def test_a_key_is_the_same_request_only_with_the_same_version_argument(db: Db) -> None:
    db.save(chain("c", 1))
    start_many(db, "c", [{}], ["k"])
    with pytest.raises(psycopg.Error) as info:
        start_many(db, "c", [{}], ["k"], version=1)
    assert info.value.sqlstate == "FS004"


def test_unknown_workflow_archived_workflow_and_unknown_version_are_refused(db: Db) -> None:
    with pytest.raises(psycopg.Error) as unknown:
        start_many(db, "nope", [{}])
    assert unknown.value.sqlstate == "FS001"
    db.save(chain("c", 1))
    with pytest.raises(psycopg.Error) as version:
        start_many(db, "c", [{}], version=7)
    assert version.value.sqlstate == "FS003"
    start_many(db, "c", [{"a": 1}], ["k"])
    db.conn.execute("SELECT flowsync.set_workflow_archived('c', true)")
    with pytest.raises(psycopg.Error) as archived:
        start_many(db, "c", [{"a": 1}, {"b": 2}], ["k", None])
    assert archived.value.sqlstate == "FS002"
    # as start_execution: repeats of keyed starts are still answered
    repeat = start_many(db, "c", [{"a": 1}], ["k"])
    assert repeat[0]["created"] is False


@pytest.mark.parametrize(
    ("inputs", "keys", "message"),
    [
        ({"a": 1}, None, "inputs must be a JSON array with one input per execution, not object"),
        ("[1]", None, "not string"),
        ([{}, {}], ["k"], "not 1 for 2 inputs"),
        ([{}], [["a"]], "one entry per input"),
    ],
)
def test_malformed_arguments_are_refused(
    db: Db, inputs: Any, keys: list[Any] | None, message: str
) -> None:
    db.save(chain("c", 1))
    with pytest.raises(psycopg.Error) as info:
        db.conn.execute(
            "SELECT * FROM flowsync.start_executions('c', %s, %s)", (Jsonb(inputs), keys)
        )
    assert info.value.sqlstate == "FS005"
    assert message in str(info.value)


def test_sql_null_inputs_are_refused(db: Db) -> None:
    db.save(chain("c", 1))
    with pytest.raises(psycopg.Error) as info:
        db.conn.execute("SELECT * FROM flowsync.start_executions('c', NULL)")
    assert info.value.sqlstate == "FS005" and "not NULL" in str(info.value)


def test_workers_are_woken_once_per_queue(db: Db, database_dsn: str) -> None:
    db.save(TWO_QUEUES)
    with psycopg.connect(database_dsn, autocommit=True) as listener:
        listener.execute("LISTEN flowsync_jobs")
        start_many(db, "two-queues", [{}] * 20, now=at(1))
        # Notifications arrive in commit order: everything before the marker is the batch's.
        db.conn.execute("NOTIFY flowsync_jobs, 'end'")
        payloads = []
        for note in listener.notifies(timeout=WAIT_S):
            if note.payload == "end":
                break
            payloads.append(note.payload)
    stamp = int(at(1).timestamp() * 1000)
    assert sorted(payloads) == [f"default {stamp}", f"side {stamp}"]


def test_a_rolled_back_transaction_leaves_nothing(db: Db) -> None:
    db.save(chain("c", 1))
    with pytest.raises(RuntimeError), db.conn.transaction():
        start_many(db, "c", [{}, {}], ["k", None])
        raise RuntimeError("the application's transaction fails")
    assert count(db, "executions") == 0 and count(db, "jobs") == 0


class OpenBatch:
    """A batch started in a transaction that stays open until commit()."""

    def __init__(self, dsn: str, inputs: list[Any], keys: list[str | None]) -> None:
        self.conn = psycopg.connect(dsn, row_factory=dict_row)
        self.rows = self.conn.execute(
            "SELECT * FROM flowsync.start_executions('c', %s, %s)", (Jsonb(inputs), keys)
        ).fetchall()

    def commit(self) -> None:
        self.conn.commit()
        self.conn.close()


def run_blocked_batch(
    db: Db, dsn: str, inputs: list[Any], keys: list[str | None], first: OpenBatch
) -> list[dict[str, Any]] | psycopg.Error:
    """Start a batch that must wait for `first`'s keys; commit `first` once it waits; return
    the batch's rows (or its error)."""
    result: list[Any] = []

    def second() -> None:
        with psycopg.connect(dsn, autocommit=True, row_factory=dict_row) as conn:
            try:
                result.append(
                    conn.execute(
                        "SELECT * FROM flowsync.start_executions('c', %s, %s)",
                        (Jsonb(inputs), keys),
                    ).fetchall()
                )
            except psycopg.Error as exc:
                result.append(exc)

    thread = threading.Thread(target=second)
    thread.start()
    wait_for(lambda: db.lock_waiters() >= 1, WAIT_S, "the second batch to wait for the lock")
    first.commit()
    thread.join(WAIT_S)
    assert not thread.is_alive()
    outcome: list[dict[str, Any]] | psycopg.Error = result[0]
    return outcome


def test_concurrent_batches_with_shared_keys_start_each_keyed_execution_once(
    db: Db, database_dsn: str
) -> None:
    db.save(chain("c", 1))
    first = OpenBatch(database_dsn, [{"n": 1}, {"n": 2}], ["k1", "k2"])
    rows = run_blocked_batch(
        db, database_dsn, [{"n": 3}, {"n": 2}, {"n": 1}], ["k3", "k2", "k1"], first
    )
    assert not isinstance(rows, psycopg.Error), rows
    assert [r["created"] for r in rows] == [True, False, False]
    assert rows[1]["execution_id"] == first.rows[1]["execution_id"]
    assert rows[2]["execution_id"] == first.rows[0]["execution_id"]
    assert count(db, "executions") == 3 and count(db, "jobs") == 3
    assert count(db, "steps") == 3


def test_a_concurrent_batch_that_used_a_key_with_another_input_wins(
    db: Db, database_dsn: str
) -> None:
    db.save(chain("c", 1))
    first = OpenBatch(database_dsn, [{"n": 1}], ["k1"])
    error = run_blocked_batch(db, database_dsn, [{"n": 0}, {"n": 9}], [None, "k1"], first)
    assert isinstance(error, psycopg.Error)
    assert error.sqlstate == "FS004" and error.diag.message_detail == "item 2"
    assert count(db, "executions") == 1


def test_a_refused_batch_is_a_store_error(database_dsn: str) -> None:
    async def refused() -> Exception:
        conn = await asyncpg.connect(database_dsn)
        try:
            with pytest.raises(asyncpg.PostgresError) as info:
                await conn.fetch("SELECT * FROM flowsync.start_executions('w', '{}'::jsonb)")
            return translate(info.value)
        finally:
            await conn.close()

    error = asyncio.run(refused())
    assert isinstance(error, InvalidBatch) and "JSON array" in str(error)
