"""pgmq: each queued message starts one execution, also when the consumer is killed mid-batch;
the pgmq_send action delivers a step's result to a queue."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
from litestar.testing import TestClient
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from flowsync.pgmq import consume_pgmq_triggers
from flowsync.pgmq.install import install_pgmq
from tests.e2e.conftest import Engine, running_engine
from tests.processes import wait_for
from tests.sql.conftest import Db
from tests.triggers.conftest import executions, with_pool

Client = TestClient  # type: ignore[type-arg]

CONSUMER = """
import asyncio, sys
from flowsync import db
from flowsync.pgmq import consume_pgmq_triggers

async def main():
    pool = await db.create_pool(sys.argv[1], application_name="pgmq-consumer-test")
    while True:
        await consume_pgmq_triggers(pool)
        await asyncio.sleep(0.05)

asyncio.run(main())
"""


@pytest.fixture
def pgmq_db(db: Db, database_dsn: str) -> Db:
    assert install_pgmq(database_dsn) is True
    assert install_pgmq(database_dsn) is False  # guarded: a second install does nothing
    return db


def queue_trigger(admin: Client, queue: str, **extra: Any) -> str:
    config = {"queue": queue, **extra.pop("config", {})}
    body = {"workflow": "wf", "kind": "pgmq", "config": config, **extra}
    response = admin.post("/triggers", json=body)
    assert response.status_code == 201, response.text
    trigger_id: str = response.json()["id"]
    return trigger_id


def send(db: Db, queue: str, messages: list[Any]) -> None:
    for message in messages:
        db.conn.execute("SELECT pgmq.send(%s, %s)", (queue, Jsonb(message)))


def counts(db: Db, queue: str) -> tuple[int, int]:
    """(messages still queued, messages archived)."""
    queued = db.conn.execute(f"SELECT count(*) AS n FROM pgmq.q_{queue}").fetchone()
    archived = db.conn.execute(f"SELECT count(*) AS n FROM pgmq.a_{queue}").fetchone()
    assert queued is not None and archived is not None
    return queued["n"], archived["n"]


def consume(dsn: str) -> int:
    return with_pool(dsn, lambda pool: consume_pgmq_triggers(pool))


def test_each_message_starts_one_execution(admin: Client, pgmq_db: Db, database_dsn: str) -> None:
    queue_trigger(
        admin,
        "orders",
        config={"batch_size": 3, "filter": "payload.kind == 'order'"},
        input_mapping="{'order': payload.id, 'msg': message.msg_id}",
    )
    send(pgmq_db, "orders", [{"kind": "order", "id": i} for i in range(10)])
    send(pgmq_db, "orders", [{"kind": "noise"}])
    assert consume(database_dsn) == 10
    assert consume(database_dsn) == 0
    inputs = [r["input"] for r in executions(pgmq_db)]
    assert sorted(i["order"] for i in inputs) == list(range(10))
    assert counts(pgmq_db, "orders") == (0, 11)  # the filtered-out message is archived too


def test_without_pgmq_trigger_creation_is_422(admin: Client, db: Db, database_dsn: str) -> None:
    response = admin.post(
        "/triggers", json={"workflow": "wf", "kind": "pgmq", "config": {"queue": "q"}}
    )
    assert response.status_code == 422, response.text
    assert "install-pgmq" in response.json()["errors"][0]["message"]
    assert consume(database_dsn) == 0


@pytest.fixture
def consumer_procs(tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_a_consumer_killed_mid_batch_loses_and_doubles_nothing(
    admin: Client,
    pgmq_db: Db,
    database_dsn: str,
    consumer_procs: list[subprocess.Popen[bytes]],
) -> None:
    trigger_id = queue_trigger(admin, "jobs", config={"batch_size": 10})
    send(pgmq_db, "jobs", [{"n": i} for i in range(10)])
    # Hold the fire record of message 6 in an open transaction: the consumer fires 1-5, then
    # blocks on 6 in the middle of its batch. That is where it gets killed.
    with psycopg.connect(database_dsn, row_factory=dict_row) as blocker:
        blocker.execute(
            "INSERT INTO flowsync.trigger_fires (trigger_id, dedupe_key) VALUES (%s, 'msg:jobs:6')",
            (UUID(trigger_id),),
        )
        env = {**os.environ, "FLOWSYNC_LOG_LEVEL": "warning"}
        first = subprocess.Popen([sys.executable, "-c", CONSUMER, database_dsn], env=env)
        consumer_procs.append(first)

        wait_for(
            lambda: pgmq_db.lock_waiters("pgmq-consumer-test") == 1,
            30,
            "the consumer to block on message 6",
        )
        first.kill()
        first.wait(10)
        blocker.rollback()
    # The killed consumer's transaction never commits: nothing started, nothing archived.
    wait_for(
        lambda: counts(pgmq_db, "jobs") == (10, 0) and not executions(pgmq_db),
        30,
        "the killed consumer's work to roll back",
    )
    second = subprocess.Popen([sys.executable, "-c", CONSUMER, database_dsn])
    consumer_procs.append(second)
    wait_for(lambda: counts(pgmq_db, "jobs") == (0, 10), 30, "the queue to drain")
    assert sorted(r["input"]["n"] for r in executions(pgmq_db)) == list(range(10))


@pytest.fixture
def engine(pgmq_db: Db, database_dsn: str, tmp_path: Path) -> Iterator[Engine]:
    with running_engine(database_dsn, tmp_path) as eng:
        yield eng


def test_pgmq_send_action_publishes_step_results(engine: Engine) -> None:
    engine.conn.execute("SELECT pgmq.create('out')")
    engine.save(
        {
            "name": "publish",
            "nodes": [
                {"id": "make", "type": "echo", "config": {"value": {"x": "{{ input.x }}"}}},
                {
                    "id": "send",
                    "type": "pgmq_send",
                    "depends_on": ["make"],
                    "config": {"queue": "out"},
                },
                {
                    "id": "shaped",
                    "type": "pgmq_send",
                    "depends_on": ["make"],
                    "config": {
                        "queue": "out",
                        "message": {"twice": "{{ steps.make.output.x * 2 }}"},
                    },
                },
            ],
        }
    )
    engine.worker("--poll", "0.2")
    execution_id = engine.start_now("publish", {"x": 21})
    finished = engine.wait_finished(execution_id)
    assert finished["status"] == "succeeded", engine.worker_logs()
    rows = engine.conn.execute(
        "SELECT message, headers FROM pgmq.read('out', 30, 10) ORDER BY msg_id"
    ).fetchall()
    messages = sorted((r["message"] for r in rows), key=str)
    assert messages == [{"twice": 42}, {"x": 21}]
    keys = sorted(r["headers"]["idempotency_key"] for r in rows)
    assert keys == [f"{execution_id}:send", f"{execution_id}:shaped"]
    steps = engine.steps(execution_id)
    assert steps["send"]["output"]["queue"] == "out"
