"""heartbeat, release_steps/release_unknown_steps and rescue_expired_leases."""

from __future__ import annotations

from tests.sql.conftest import Db, at, chain


def heartbeat(db: Db, claims: list[dict], now: float, lease_ms: int = 30_000) -> list[int]:
    row = db.conn.execute(
        "SELECT flowsync.heartbeat('w1', %s, %s, %s, %s) AS gone",
        ([c["step_id"] for c in claims], [c["lease_token"] for c in claims], lease_ms, at(now)),
    ).fetchone()
    assert row is not None
    return list(row["gone"])


def rescue(db: Db, now: float) -> int:
    row = db.conn.execute(
        "SELECT flowsync.rescue_expired_leases(100, %s) AS n", (at(now),)
    ).fetchone()
    assert row is not None
    return int(row["n"])


def test_heartbeat_extends_the_lease_and_names_lost_steps(db: Db) -> None:
    db.save(chain("one", 1))
    a = db.start("one")
    b = db.start("one")
    claims = db.claim(lease_ms=10_000)
    assert heartbeat(db, claims, now=5) == []
    assert db.leases()[db.steps(a)["s0"]["id"]]["expires_at"] == at(35)
    db.conn.execute("SELECT flowsync.cancel_execution(%s)", (b,))
    assert heartbeat(db, claims, now=6) == [
        next(c["step_id"] for c in claims if c["execution_id"] == b)
    ]


def test_expired_lease_is_rescued_and_the_attempt_counts(db: Db) -> None:
    db.save(
        {
            "name": "r",
            "nodes": [
                {
                    "id": "a",
                    "type": "noop",
                    "retry": {"max_attempts": 2, "initial": "1s", "jitter": False},
                }
            ],
        }
    )
    execution_id = db.start("r")
    (first,) = db.claim(lease_ms=10_000, now=at(0))
    assert rescue(db, now=9) == 0, "the lease has not expired yet"
    assert rescue(db, now=11) == 1
    step = db.steps(execution_id)["a"]
    assert step["status"] == "queued" and step["attempt"] == 1
    assert step["error"]["type"] == "LeaseExpired"
    assert db.succeed(first, "late zombie result") == "stale"
    (second,) = db.claim(now=at(12))
    assert second["attempt"] == 2
    assert rescue(db, now=60) == 1
    assert db.steps(execution_id)["a"]["status"] == "dead", "lost attempts spend the budget"
    assert db.execution(execution_id)["status"] == "failed"


def test_release_gives_the_attempt_back(db: Db) -> None:
    db.save(chain("one", 1))
    execution_id = db.start("one")
    (claim,) = db.claim()
    n = db.conn.execute(
        "SELECT flowsync.release_steps('w1', %s, %s, %s) AS n",
        ([claim["step_id"]], [claim["lease_token"]], at(1)),
    ).fetchone()
    assert n == {"n": 1}
    step = db.steps(execution_id)["s0"]
    assert step["status"] == "queued" and step["attempt"] == 0
    assert db.succeed(claim) == "stale"
    (again,) = db.claim(now=at(1))
    assert again["attempt"] == 1


def test_release_unknown_steps_keeps_the_known_ones(db: Db) -> None:
    db.save(chain("one", 1))
    for _ in range(3):
        db.start("one")
    claims = db.claim()
    known = [claims[0]["step_id"]]
    n = db.conn.execute(
        "SELECT flowsync.release_unknown_steps('w1', %s, %s) AS n", (known, at(1))
    ).fetchone()
    assert n == {"n": 2}
    assert [j["step_id"] for j in db.jobs()] == [c["step_id"] for c in claims[1:]]
