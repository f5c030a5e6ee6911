"""Three `flowsync scheduler` processes: exactly one leads; a killed or stopped leader is
replaced within seconds; a leader whose session is cut steps down; SIGTERM lets go cleanly."""

from __future__ import annotations

import json
import signal
import time

import pytest

from tests.processes import wait_for
from tests.scheduler.conftest import TAKEOVER_SECONDS, Cluster

pytestmark = pytest.mark.slow


def events(log: str) -> list[str]:
    found = []
    for line in log.splitlines():
        try:
            found.append(json.loads(line)["event"])
        except (ValueError, KeyError):
            continue
    return found


def test_one_leads_and_a_killed_leader_is_replaced_within_seconds(cluster: Cluster) -> None:
    cluster.spawn(3)
    leader = cluster.wait_leader()
    cluster.wait_followers(2)

    # Exactly one: the lock has one holder, and it is the leader's own session.
    rows = cluster.rows()
    assert [r["state"] for r in rows].count("leading") == 1, rows
    holder = cluster.conn.execute(
        "SELECT backend_pid FROM flowsync.schedulers WHERE pid = %s", (leader.pid,)
    ).fetchone()
    assert holder is not None and holder["backend_pid"] == cluster.lock_holder()

    for _ in range(2):
        killed_at = time.monotonic()
        leader.kill()
        successor = cluster.wait_leader(TAKEOVER_SECONDS, other_than=leader)
        took = time.monotonic() - killed_at
        assert successor.alive() and successor is not leader
        assert took < TAKEOVER_SECONDS, f"takeover took {took:.1f}s"
        # The dead leader's row no longer claims to lead: its successor cleared it.
        dead = [r for r in cluster.rows() if r["pid"] == leader.pid]
        assert dead and dead[0]["leader_since"] is None, cluster.logs()
        leader = successor

    assert "scheduler.leading" in events(leader.log())


def test_sigterm_exits_cleanly_and_releases_the_lock(cluster: Cluster) -> None:
    cluster.spawn(2)
    leader = cluster.wait_leader()
    cluster.wait_followers(1)

    stopped_at = time.monotonic()
    leader.signal(signal.SIGTERM)
    assert leader.wait(10) == 0, leader.log()
    successor = cluster.wait_leader(TAKEOVER_SECONDS, other_than=leader)
    assert time.monotonic() - stopped_at < TAKEOVER_SECONDS
    assert [r["state"] for r in cluster.rows() if r["pid"] == leader.pid] == ["stopped"]
    assert events(leader.log())[-2:] == ["scheduler.stepped_down", "scheduler.stopped"]

    successor.signal(signal.SIGTERM)
    assert successor.wait(10) == 0, successor.log()
    assert cluster.lock_holder() is None
    assert {r["state"] for r in cluster.rows()} == {"stopped"}


def test_a_leader_whose_session_is_cut_steps_down(cluster: Cluster) -> None:
    (only,) = cluster.spawn(1)
    leader = cluster.wait_leader()
    assert leader is only
    first_backend = cluster.lock_holder()
    assert first_backend is not None

    cluster.conn.execute("SELECT pg_terminate_backend(%s)", (first_backend,))

    # The same process notices at its next tick, stops its duties, and wins again on a new
    # session (nobody else competes).
    wait_for(
        lambda: "scheduler.stepped_down" in events(only.log()),
        TAKEOVER_SECONDS,
        "the leader to step down",
    )
    wait_for(
        lambda: cluster.leader() is only and cluster.lock_holder() != first_backend,
        TAKEOVER_SECONDS,
        "the scheduler to lead again on a new session",
    )
    assert only.alive()
    assert events(only.log()).count("scheduler.leading") == 2
