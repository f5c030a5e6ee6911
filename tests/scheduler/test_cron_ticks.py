"""A 1-second interval trigger under three schedulers whose leader is SIGKILLed twice: every
tick of a 20-second window fires exactly once (guarantee 6 of DESIGN.md)."""

from __future__ import annotations

import functools
import time
from datetime import datetime, timedelta

import pytest
from psycopg.types.json import Jsonb

from tests.processes import wait_for
from tests.scheduler.conftest import TAKEOVER_SECONDS, Cluster

pytestmark = pytest.mark.slow

WINDOW = timedelta(seconds=20)
KILL_AFTER = (timedelta(seconds=5), timedelta(seconds=12))


def fired_through(cluster: Cluster, trigger_id: str, tick: datetime) -> bool:
    row = cluster.conn.execute(
        "SELECT max(scheduled_for) AS last FROM flowsync.trigger_fires "
        "WHERE trigger_id = %s AND execution_id IS NOT NULL",
        (trigger_id,),
    ).fetchone()
    return row is not None and row["last"] is not None and row["last"] >= tick


def test_every_tick_fires_exactly_once_while_leaders_are_killed(cluster: Cluster) -> None:
    cluster.save({"name": "tick", "nodes": [{"id": "a", "type": "noop"}]})
    cluster.spawn(3)
    leader = cluster.wait_leader()
    cluster.wait_followers(2)

    # The first tick is the next whole second (interval ticks are multiples of 1s).
    row = cluster.conn.execute(
        "SELECT flowsync.trigger_create('tick', 'cron', true, %s, NULL, NULL, NULL, NULL, "
        "date_trunc('second', now()) + interval '1 second') AS id",
        (Jsonb({"interval": "1s"}),),
    ).fetchone()
    assert row is not None
    trigger_id = row["id"]
    start_row = cluster.conn.execute(
        "SELECT next_fire_at FROM flowsync.triggers WHERE id = %s", (trigger_id,)
    ).fetchone()
    assert start_row is not None
    start: datetime = start_row["next_fire_at"]
    end = start + WINDOW

    for offset in KILL_AFTER:
        wait_for(
            functools.partial(fired_through, cluster, trigger_id, start + offset),
            offset.total_seconds() + 10,
            f"the tick at +{offset.total_seconds():g}s",
        )
        killed_at = time.monotonic()
        leader.kill()
        successor = cluster.wait_leader(TAKEOVER_SECONDS, other_than=leader)
        assert time.monotonic() - killed_at < TAKEOVER_SECONDS, cluster.logs()
        leader = successor

    wait_for(lambda: fired_through(cluster, trigger_id, end), 30, "the window's last tick")

    fires = cluster.conn.execute(
        "SELECT scheduled_for, count(*) AS n, count(DISTINCT execution_id) AS executions "
        "FROM flowsync.trigger_fires WHERE trigger_id = %s "
        "AND scheduled_for BETWEEN %s AND %s GROUP BY scheduled_for ORDER BY scheduled_for",
        (trigger_id, start, end),
    ).fetchall()
    expected = [start + timedelta(seconds=i) for i in range(int(WINDOW.total_seconds()) + 1)]
    assert [f["scheduled_for"] for f in fires] == expected, cluster.logs()
    assert all(f["n"] == 1 and f["executions"] == 1 for f in fires), fires
    late = cluster.conn.execute(
        "SELECT max(fired_at - scheduled_for) AS worst FROM flowsync.trigger_fires "
        "WHERE trigger_id = %s AND scheduled_for BETWEEN %s AND %s",
        (trigger_id, start, end),
    ).fetchone()
    assert late is not None and late["worst"] < timedelta(seconds=TAKEOVER_SECONDS), late

    # One execution per tick, nothing more: the dedupe key held across the leader changes.
    counts = cluster.conn.execute(
        "SELECT count(*) AS executions, count(DISTINCT f.scheduled_for) AS ticks "
        "FROM flowsync.executions e JOIN flowsync.workflows w ON w.id = e.workflow_id "
        "JOIN flowsync.trigger_fires f ON f.execution_id = e.id "
        "WHERE w.name = 'tick' AND f.scheduled_for BETWEEN %s AND %s",
        (start, end),
    ).fetchone()
    assert counts == {"executions": len(expected), "ticks": len(expected)}
    assert cluster.conn.execute(
        "SELECT count(*) AS n FROM flowsync.trigger_fires WHERE trigger_id = %s "
        "AND scheduled_for < %s",
        (trigger_id, start),
    ).fetchone() == {"n": 0}
