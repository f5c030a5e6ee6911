"""Waking workers when delayed jobs fall due: notify_due_jobs, and the leader calling it."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any

import asyncpg

from flowsync.scheduler import Scheduler, SchedulerConfig
from tests.scheduler.conftest import Cluster
from tests.sql.conftest import T0, Db, at


def add_job(db: Db, step_id: int, queue: str, run_at: datetime) -> None:
    """A bare job row (jobs have no foreign key): only its queue and run_at matter here."""
    db.conn.execute(
        "INSERT INTO flowsync.jobs (step_id, queue, run_at) VALUES (%s, %s, %s)",
        (step_id, queue, run_at),
    )


def notify(db: Db, after: datetime | None, until: datetime) -> tuple[int, list[str]]:
    db.conn.execute("LISTEN flowsync_jobs")
    try:
        row = db.conn.execute(
            "SELECT * FROM flowsync.notify_due_jobs(%s, %s)", (after, until)
        ).fetchone()
        assert row is not None and row["checked_until"] == until
        payloads = [n.payload for n in db.conn.notifies(timeout=0.2, stop_after=None)]
    finally:
        db.conn.execute("UNLISTEN flowsync_jobs")
    return row["notified"], sorted(payloads)


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def test_notifies_each_queue_once_for_jobs_due_in_the_window(cluster: Cluster) -> None:
    db = cluster
    add_job(db, 1, "a", at(1))
    add_job(db, 2, "a", at(1.5))  # same queue, same window: one notification, the earliest
    add_job(db, 3, "b", at(2))
    add_job(db, 4, "c", at(0))  # due before the window: announced by an earlier pass
    add_job(db, 5, "d", at(3))  # not due yet

    assert notify(db, T0, at(2)) == (2, [f"a {ms(at(1))}", f"b {ms(at(2))}"])
    assert notify(db, at(2), at(3)) == (1, [f"d {ms(at(3))}"])
    assert notify(db, at(3), at(4)) == (0, [])
    # No previous pass: look back a few seconds.
    assert notify(db, None, at(2)) == (3, [f"a {ms(at(1))}", f"b {ms(at(2))}", f"c {ms(at(0))}"])


def test_the_leader_wakes_workers_when_a_delayed_job_falls_due(database_dsn: str) -> None:
    """A job queued without a notification (as if by another process whose NOTIFY nobody
    heard) is announced by the leader when its run_at comes, once."""

    async def scenario() -> tuple[list[tuple[str, float]], datetime]:
        heard: list[tuple[str, float]] = []
        listener = await asyncpg.connect(database_dsn)
        await listener.add_listener(
            "flowsync_jobs", lambda *args: heard.append((str(args[3]), time.time()))
        )
        stop = asyncio.Event()
        scheduler = Scheduler(database_dsn, SchedulerConfig(retention=None))
        task = asyncio.create_task(scheduler.run(stop))
        try:
            await _until(lambda: scheduler.leading, "the scheduler to lead")
            run_at: datetime = await listener.fetchval(
                "INSERT INTO flowsync.jobs (step_id, queue, run_at) "
                "VALUES (424242, 'wake-test', now() + interval '1.5 seconds') RETURNING run_at"
            )
            await _until(lambda: heard, "the notification")
            # Let the leader run a good number of further passes: still one notification.
            ticked = time.monotonic()
            await _until(lambda: time.monotonic() - ticked > 1 and scheduler.leading, "more passes")
            return heard, run_at
        finally:
            stop.set()
            await task
            await listener.close()

    heard, run_at = asyncio.run(scenario())
    assert [payload for payload, _ in heard] == [f"wake-test {ms(run_at)}"]
    arrived = heard[0][1]
    due = run_at.timestamp()
    assert due - 0.05 <= arrived <= due + 1.0, f"notified {arrived - due:+.3f}s from run_at"


async def _until(condition: Any, what: str, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds}s waiting for {what}")
        await asyncio.sleep(0.02)
