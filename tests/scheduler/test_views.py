"""The operators' views (queue_depth, running_steps, dead_letters, worker_status,
scheduler_status) and GET /scheduler, over a database in a known state."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from litestar.testing import TestClient
from psycopg.rows import dict_row

from tests.api.conftest import Keys, api_keys, auth, client  # noqa: F401 (fixtures)
from tests.processes import wait_for
from tests.scheduler.conftest import Cluster

SLOW_RETRY = {"max_attempts": 5, "initial": "1h", "max": "2h", "jitter": False}


def view(db: Cluster, name: str) -> list[dict[str, Any]]:
    return db.conn.execute(f"SELECT * FROM flowsync.{name}").fetchall()


def test_views_describe_queues_steps_workers_and_dead_letters(cluster: Cluster) -> None:
    db = cluster
    now = datetime.now(UTC)
    db.save({"name": "v", "nodes": [{"id": "a", "type": "noop", "retry": SLOW_RETRY}]})
    db.save({"name": "mail", "nodes": [{"id": "send", "type": "noop", "queue": "mail"}]})
    for worker in ("w1", "w2", "w-gone"):
        db.conn.execute(
            "SELECT flowsync.register_worker(%s, 'host', 1, '{default}', 4, %s)",
            (worker, now - timedelta(hours=2)),
        )
    db.conn.execute("SELECT flowsync.stop_worker('w-gone', %s)", (now,))

    running = db.start("v", now=now)
    db.claim("w1", now=now)
    db.start("v", now=now)  # its step will be delayed
    (claim,) = db.claim("w1", now=now)
    assert db.fail(claim, retryable=True, now=now) == "ok"  # back in an hour
    dead = db.start("v", now=now)
    (claim,) = db.claim("w1", now=now)
    assert db.fail(claim, retryable=False, now=now) == "ok"
    lost = db.start("v", now=now - timedelta(hours=1))
    db.claim("w2", lease_ms=1000, now=now - timedelta(hours=1))  # lease long expired
    db.start("v", now=now - timedelta(minutes=5))  # ready for five minutes
    db.start("mail", now=now - timedelta(minutes=1))

    (default, mail) = view(db, "queue_depth")
    assert (default["queue"], default["ready"], default["delayed"], default["running"]) == (
        "default",
        1,
        1,
        2,
    )
    assert timedelta(minutes=5) <= default["oldest_ready_age"] < timedelta(minutes=6)
    assert timedelta(minutes=55) < default["next_due_in"] <= timedelta(hours=1)
    assert (mail["queue"], mail["ready"], mail["delayed"], mail["running"]) == ("mail", 1, 0, 0)
    assert mail["next_due_in"] is None

    steps = view(db, "running_steps")
    assert [(s["execution_id"], s["workflow"], s["node_id"], s["worker_id"]) for s in steps] == [
        (lost, "v", "a", "w2"),
        (running, "v", "a", "w1"),
    ]
    assert steps[0]["lease_expires_in"] < timedelta(0) < steps[1]["lease_expires_in"]
    assert steps[0]["lease_age"] > timedelta(minutes=59)
    assert steps[1]["worker_last_seen_at"] is not None

    (letter,) = view(db, "dead_letters")
    assert (letter["execution_id"], letter["status"], letter["error_message"]) == (
        dead,
        "failed",
        "boom",
    )

    workers = {w["id"]: (w["state"], w["running"]) for w in view(db, "worker_status")}
    assert workers == {"w1": ("busy", 1), "w2": ("unresponsive", 1), "w-gone": ("stopped", 0)}


@pytest.fixture
def sessions(database_dsn: str) -> Iterator[list[psycopg.Connection[dict[str, object]]]]:
    """Plain sessions that play scheduler processes (the election lives in SQL)."""
    opened: list[psycopg.Connection[dict[str, object]]] = []

    def connect() -> psycopg.Connection[dict[str, object]]:
        conn = psycopg.connect(database_dsn, autocommit=True, row_factory=dict_row)
        opened.append(conn)
        return conn

    yield [connect(), connect()]
    for conn in opened:
        conn.close()


def lead(conn: psycopg.Connection[dict[str, object]], name: str, pid: int) -> bool:
    row = conn.execute(
        "SELECT flowsync.scheduler_lead(%s, 'host', %s) AS leads", (name, pid)
    ).fetchone()
    assert row is not None
    return bool(row["leads"])


def test_get_scheduler_shows_who_leads(
    client: TestClient,  # type: ignore[type-arg]  # noqa: F811
    api_keys: Keys,  # noqa: F811
    sessions: list[psycopg.Connection[dict[str, object]]],
    cluster: Cluster,
) -> None:
    headers = auth(api_keys.read)
    assert client.get("/scheduler").status_code == 401
    assert client.get("/scheduler", headers=headers).json() == {
        "leader": None,
        "healthy": False,
        "followers": [],
    }

    first, second = sessions
    assert lead(first, "sched-a", 11)
    assert not lead(second, "sched-b", 22)
    body = client.get("/scheduler", headers=headers).json()
    assert body["healthy"] is True
    assert {k: body["leader"][k] for k in ("id", "hostname", "pid")} == {
        "id": "sched-a",
        "hostname": "host",
        "pid": 11,
    }
    assert body["leader"]["since"] and body["leader"]["last_tick_at"]
    assert [f["id"] for f in body["followers"]] == ["sched-b"]
    states = {r["id"]: r["state"] for r in cluster.rows()}
    assert states == {"sched-a": "leading", "sched-b": "following"}

    # The leader dies: its row still says leader_since, but nobody holds the lock. (The
    # server ends the session a moment after the client goes.)
    first.close()
    wait_for(
        lambda: client.get("/scheduler", headers=headers).json()["leader"] is None,
        5,
        "the dead leader to disappear",
    )
    body = client.get("/scheduler", headers=headers).json()
    assert body["healthy"] is False
    assert [f["id"] for f in body["followers"]] == ["sched-b"]
    assert {r["id"]: r["state"] for r in cluster.rows()}["sched-a"] == "gone"

    # The follower takes over on its next try and clears the dead leader's claim.
    assert lead(second, "sched-b", 22)
    body = client.get("/scheduler", headers=headers).json()
    assert body["leader"]["id"] == "sched-b" and body["healthy"] is True
    assert body["followers"] == []
    assert {r["id"]: r["state"] for r in cluster.rows()} == {
        "sched-b": "leading",
        "sched-a": "gone",
    }
