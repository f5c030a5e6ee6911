"""register_worker/stop_worker announce a worker to the others of its queues; worker_peers
counts them (a worker runs one round trip at a time with peers, two alone)."""

from __future__ import annotations

import psycopg

from tests.sql.conftest import Db, at


def register(db: Db, worker: str, queues: list[str], now: float = 0) -> None:
    db.conn.execute(
        "SELECT flowsync.register_worker(%s, 'host', 1, %s, 10, %s)", (worker, queues, at(now))
    )


def peers(db: Db, worker: str, queues: list[str], now: float) -> int:
    row = db.conn.execute(
        "SELECT flowsync.worker_peers(%s, %s, 30000, %s) AS n", (worker, queues, at(now))
    ).fetchone()
    assert row is not None
    return int(row["n"])


def test_peers_are_the_other_live_workers_of_a_shared_queue(db: Db) -> None:
    register(db, "w1", ["default", "mail"])
    assert peers(db, "w1", ["default", "mail"], now=1) == 0
    register(db, "w2", ["mail"])
    register(db, "w3", ["reports"])  # no queue in common
    register(db, "w4", ["default"])
    assert peers(db, "w1", ["default", "mail"], now=1) == 2
    assert peers(db, "w2", ["mail"], now=1) == 1

    db.conn.execute("SELECT flowsync.stop_worker('w4', %s)", (at(2),))
    assert peers(db, "w1", ["default", "mail"], now=3) == 1
    # w2 stops heartbeating (it died): it counts until a lease's time has passed.
    db.conn.execute("SELECT flowsync.heartbeat('w1', '{}', '{}', 30000, %s)", (at(40),))
    assert peers(db, "w1", ["default", "mail"], now=29) == 1
    assert peers(db, "w1", ["default", "mail"], now=31) == 0
    assert peers(db, "w2", ["mail"], now=31) == 1  # w1 heartbeated at 40 (in its future)


def test_joining_and_leaving_are_announced_on_the_workers_queues(db: Db, database_dsn: str) -> None:
    with psycopg.connect(database_dsn, autocommit=True) as listener:
        listener.execute("LISTEN flowsync_jobs")
        register(db, "w1", ["default", "mail"])
        db.conn.execute("SELECT flowsync.stop_worker('w1')")
        heard = [n.payload for n in listener.notifies(timeout=1, stop_after=4)]
    assert sorted(heard) == ["default workers", "default workers", "mail workers", "mail workers"]
