"""The leader's other duties, run by an in-process Scheduler: expired leases are rescued, and
events emitted from SQL start the executions of matching event triggers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from psycopg.types.json import Jsonb

from flowsync.scheduler import Scheduler, SchedulerConfig
from tests.processes import wait_for
from tests.scheduler.conftest import Cluster


def while_leading(cluster: Cluster, check: Callable[[], object], what: str) -> None:
    """Run a Scheduler in this process until `check()` holds (or fail after 10 s)."""

    async def scenario() -> None:
        stop = asyncio.Event()
        scheduler = Scheduler(cluster.dsn, SchedulerConfig(retention=None))
        task = asyncio.create_task(scheduler.run(stop))
        try:
            await asyncio.to_thread(wait_for, check, 10, what)
            assert scheduler.leading
        finally:
            stop.set()
            await task

    asyncio.run(scenario())


def test_the_leader_rescues_expired_leases(cluster: Cluster) -> None:
    cluster.save({"name": "lost", "nodes": [{"id": "a", "type": "noop"}]})
    execution_id = cluster.start("lost", now=datetime.now(UTC))
    # Claimed with a lease that expired at once, by a worker that then vanished.
    (claim,) = cluster.conn.execute(
        "SELECT * FROM flowsync.claim_steps('gone', '{default}', 1, 1)"
    ).fetchall()
    assert claim["result"] == "claimed"

    while_leading(
        cluster,
        lambda: cluster.steps(execution_id)["a"]["status"] == "queued",
        "the step to be re-queued",
    )
    step = cluster.steps(execution_id)["a"]
    assert step["error"]["type"] == "LeaseExpired"
    assert [j["step_id"] for j in cluster.jobs()] == [step["id"]]


def test_the_leader_matches_emitted_events_against_event_triggers(cluster: Cluster) -> None:
    cluster.save({"name": "on-paid", "nodes": [{"id": "a", "type": "noop"}]})
    cluster.conn.execute(
        "SELECT flowsync.trigger_create('on-paid', 'event', true, %s, NULL, NULL, NULL, "
        "'orders.paid', NULL)",
        (Jsonb({"type": "orders.paid"}),),
    )
    cluster.conn.execute(
        "SELECT flowsync.emit_event('orders.paid', %s, id => 'order-42')",
        (Jsonb({"order_id": 42}),),
    )

    def started() -> bool:
        row = cluster.conn.execute(
            "SELECT count(*) AS n FROM flowsync.executions e "
            "JOIN flowsync.workflows w ON w.id = e.workflow_id WHERE w.name = 'on-paid'"
        ).fetchone()
        return row is not None and row["n"] == 1

    while_leading(cluster, started, "the event's execution")
