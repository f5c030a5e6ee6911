"""claim_steps: leases, context, limits, queues, run_at, and no double claims."""

from __future__ import annotations

import threading
from typing import Any

import psycopg
from psycopg.rows import dict_row

from tests.sql.conftest import Db, at, chain


def test_claim_leases_and_returns_context(db: Db) -> None:
    db.save(
        {
            "name": "ctx",
            "nodes": [
                {
                    "id": "a",
                    "type": "echo",
                    "config": {"value": "{{ input.x }}"},
                    "timeout": "5s",
                    "retry": {"max_attempts": 4},
                },
            ],
        }
    )
    execution_id = db.start("ctx", {"x": 7})
    (claim,) = db.claim(worker="w9", lease_ms=10_000)
    assert claim["result"] == "claimed"
    assert claim["execution_id"] == execution_id
    assert (claim["workflow"], claim["version"], claim["node_id"]) == ("ctx", 1, "a")
    assert claim["node_type"] == "echo"
    assert claim["config"] == {"value": "{{ input.x }}"}
    assert (claim["attempt"], claim["max_attempts"], claim["timeout_ms"]) == (1, 4, 5000)
    assert claim["input"] == {"x": 7} and claim["upstream"] == {}
    step = db.steps(execution_id)["a"]
    assert step["status"] == "running" and step["worker_id"] == "w9"
    assert step["lease_token"] == claim["lease_token"]
    lease = db.leases()[claim["step_id"]]
    assert (lease["worker_id"], lease["expires_at"]) == ("w9", at(10))
    assert db.execution(execution_id)["status"] == "running"
    assert db.jobs() == []


def test_upstream_outputs_and_referenced_steps_are_in_the_context(db: Db) -> None:
    db.save(
        {
            "name": "refs",
            "nodes": [
                {"id": "a", "type": "noop"},
                {"id": "b", "type": "noop", "depends_on": ["a"]},
                {
                    "id": "c",
                    "type": "echo",
                    "depends_on": ["b"],
                    "config": {"value": "{{ steps.a.output }}"},
                },
            ],
        }
    )
    db.start("refs")
    db.succeed(db.claim()[0], {"from": "a"})
    db.succeed(db.claim()[0], {"from": "b"})
    (claim,) = db.claim()
    assert claim["upstream"] == {"a": {"output": {"from": "a"}}, "b": {"output": {"from": "b"}}}


def test_limit_queue_and_run_at_are_respected(db: Db) -> None:
    db.save({"name": "q", "nodes": [{"id": "a", "type": "noop", "queue": "emails"}]})
    db.save(chain("d", 1))
    for _ in range(3):
        db.start("q")
        db.start("d")
    assert len(db.claim(queues=("default",), limit=2)) == 2
    assert len(db.claim(queues=("default",), limit=5)) == 1
    assert len(db.claim(queues=("emails", "other"), limit=5)) == 3
    assert db.claim(queues=("default", "emails")) == []


def test_future_jobs_wait_for_their_time(db: Db) -> None:
    db.save(chain("d", 1))
    db.start("d", now=at(0))
    db.conn.execute("UPDATE flowsync.jobs SET run_at = %s", (at(60),))
    assert db.claim(now=at(59)) == []
    assert db.conn.execute("SELECT flowsync.next_run_at('{default}') AS t").fetchone() == {
        "t": at(60)
    }
    assert len(db.claim(now=at(60))) == 1


def test_concurrent_claimers_never_get_the_same_step(db: Db, database_dsn: str) -> None:
    db.save(chain("d", 1))
    for _ in range(300):
        db.start("d")
    claimed: list[list[Any]] = []
    barrier = threading.Barrier(4)

    def claimer(worker: str) -> None:
        got = []
        with psycopg.connect(database_dsn, autocommit=True, row_factory=dict_row) as conn:
            barrier.wait()
            while rows := conn.execute(
                "SELECT step_id FROM flowsync.claim_steps(%s, '{default}', 7, 30000, %s)",
                (worker, at(0)),
            ).fetchall():
                got += [r["step_id"] for r in rows]
        claimed.append(got)

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [step for got in claimed for step in got]
    assert len(every) == 300 and len(set(every)) == 300
    assert sum(1 for got in claimed if got) >= 2, "the claimers should have shared the work"
