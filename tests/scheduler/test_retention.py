"""Retention: only finished executions older than the setting go (with everything hanging off
them), in bounded batches; queued and running ones never; no job is left behind."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from flowsync import db as flowsync_db
from flowsync.scheduler.retention import RetentionDuty
from tests.scheduler.conftest import Cluster
from tests.sql.conftest import chain

NOW = datetime.now(UTC)
OLD = NOW - timedelta(days=10)
RECENT = NOW - timedelta(days=1)
KEEP = timedelta(days=7)
CHILD_TABLES = ("steps", "step_attempts", "step_logs", "execution_events")


def log_line(when: datetime) -> dict[str, Any]:
    return {"at": when.isoformat(), "level": "info", "message": "hello", "fields": {}}


def succeeded(db: Cluster, when: datetime) -> UUID:
    """A two-step execution that ran to success at `when`, with a log line per step."""
    execution_id = db.start("chain", now=when)
    while claims := db.claim(now=when):
        for c in claims:
            step = {"step_id": c["step_id"], "token": c["lease_token"], "kind": "succeeded"}
            db.report([step | {"output": None, "logs": [log_line(when)]}], now=when)
    assert db.status(execution_id) == "succeeded"
    return execution_id


def failed(db: Cluster, when: datetime) -> UUID:
    """A retry (an attempt row), then a non-retryable failure: the execution fails."""
    execution_id = db.start("chain", now=when)
    (claim,) = db.claim(now=when)
    assert db.fail(claim, retryable=True, now=when) == "ok"
    later = when + timedelta(hours=1)
    (claim,) = db.claim(now=later)
    assert db.fail(claim, retryable=False, now=later) == "ok"
    assert db.status(execution_id) == "failed"
    return execution_id


def cancelled(db: Cluster, when: datetime) -> UUID:
    execution_id = db.start("chain", now=when)
    db.conn.execute("SELECT flowsync.cancel_execution(%s, 'test', NULL, %s)", (execution_id, when))
    assert db.status(execution_id) == "cancelled"
    return execution_id


def running(db: Cluster, when: datetime) -> UUID:
    execution_id = db.start("chain", now=when)
    assert len(db.claim(now=when)) == 1
    assert db.status(execution_id) == "running"
    return execution_id


def queued(db: Cluster, when: datetime) -> UUID:
    execution_id = db.start("chain", now=when)
    assert db.status(execution_id) == "queued"
    return execution_id


def setup_history(db: Cluster) -> tuple[set[UUID], set[UUID]]:
    """(executions retention must delete, executions it must keep)."""
    db.save(chain("chain", 2))
    doomed = {succeeded(db, OLD), succeeded(db, OLD - timedelta(days=30)), succeeded(db, OLD)}
    doomed |= {failed(db, OLD), cancelled(db, OLD)}
    kept = {succeeded(db, RECENT), failed(db, RECENT), running(db, OLD), queued(db, OLD)}
    return doomed, kept


def count(db: Cluster, sql: str, *params: Any) -> int:
    row = db.conn.execute(sql, params).fetchone()
    assert row is not None
    return int(row["n"])


def children(db: Cluster, table: str, ids: set[UUID]) -> int:
    return count(
        db, f"SELECT count(*) AS n FROM flowsync.{table} WHERE execution_id = ANY(%s)", list(ids)
    )


def orphan_jobs(db: Cluster) -> int:
    return count(
        db,
        "SELECT count(*) AS n FROM flowsync.jobs j "
        "LEFT JOIN flowsync.steps s ON s.id = j.step_id WHERE s.id IS NULL",
    )


def test_prunes_only_finished_executions_older_than_the_cutoff_in_batches(
    cluster: Cluster,
) -> None:
    db = cluster
    doomed, kept = setup_history(db)
    # The invariant pruning relies on: a finished execution has no jobs.
    assert (
        count(
            db,
            "SELECT count(*) AS n FROM flowsync.jobs j JOIN flowsync.steps s ON s.id = j.step_id "
            "JOIN flowsync.executions e ON e.id = s.execution_id WHERE e.finished_at IS NOT NULL",
        )
        == 0
    )
    assert all(children(db, t, doomed) > 0 for t in ("steps", "step_attempts", "step_logs"))
    assert children(db, "execution_events", doomed) > 0
    before = {t: children(db, t, kept) for t in CHILD_TABLES}
    jobs_before = db.jobs()
    assert jobs_before  # the queued execution's

    deleted = [
        db.conn.execute("SELECT flowsync.prune_executions(now() - %s, 2) AS n", (KEEP,)).fetchone()
        for _ in range(4)
    ]
    assert [row["n"] for row in deleted if row is not None] == [2, 2, 1, 0]

    remaining = {r["id"] for r in db.conn.execute("SELECT id FROM flowsync.executions")}
    assert remaining == kept
    assert {t: children(db, t, doomed) for t in CHILD_TABLES} == dict.fromkeys(CHILD_TABLES, 0)
    assert {t: children(db, t, kept) for t in CHILD_TABLES} == before
    assert db.jobs() == jobs_before
    assert orphan_jobs(db) == 0


def test_the_retention_duty_prunes_everything_old_in_bounded_passes(cluster: Cluster) -> None:
    db = cluster
    _, kept = setup_history(db)
    db.conn.execute(
        "INSERT INTO flowsync.workers (id, hostname, pid, queues, concurrency, started_at, "
        "last_seen_at, stopped_at) VALUES "
        "('stopped-old', 'h', 1, '{default}', 1, %(old)s, %(old)s, %(old)s), "
        "('stopped-recent', 'h', 2, '{default}', 1, %(old)s, %(recent)s, %(recent)s), "
        "('vanished', 'h', 3, '{default}', 1, %(old)s, %(old)s, NULL), "
        "('w1', 'h', 4, '{default}', 1, %(old)s, %(old)s, NULL)",  # holds the running step
        {"old": OLD, "recent": RECENT},
    )
    db.conn.execute(
        "INSERT INTO flowsync.schedulers (id, hostname, pid, backend_pid, started_at, "
        "last_seen_at, stopped_at) VALUES ('s-old', 'h', 1, 1, %(old)s, %(old)s, %(old)s), "
        "('s-recent', 'h', 2, 2, %(recent)s, %(recent)s, %(recent)s)",
        {"old": OLD, "recent": RECENT},
    )
    trigger = db.conn.execute(
        "SELECT flowsync.trigger_create('chain', 'cron', false, %s, NULL, NULL, NULL, NULL, "
        "now() + interval '1 day') AS id",
        (Jsonb({"interval": "1h"}),),
    ).fetchone()
    assert trigger is not None
    db.conn.execute(
        "INSERT INTO flowsync.trigger_fires (trigger_id, dedupe_key, fired_at) "
        "VALUES (%(t)s, 'old', %(old)s), (%(t)s, 'recent', %(recent)s)",
        {"t": trigger["id"], "old": OLD, "recent": RECENT},
    )

    duty = RetentionDuty(KEEP, every=60, batch=2, max_batches=2)

    async def two_passes() -> tuple[int, int]:
        pool = await flowsync_db.create_pool(db.dsn, min_size=1, max_size=2)
        try:
            return await duty.run(pool), await duty.run(pool)
        finally:
            await pool.close()

    first, second = asyncio.run(two_passes())
    # First pass: 2 batches of 2 executions (the bound), 2 workers, 1 scheduler, 1 fire.
    assert (first, second) == (4 + 2 + 1 + 1, 1)

    remaining = {r["id"] for r in db.conn.execute("SELECT id FROM flowsync.executions")}
    assert remaining == kept
    assert {r["id"] for r in db.conn.execute("SELECT id FROM flowsync.workers")} == {
        "stopped-recent",
        "w1",
    }
    assert [r["id"] for r in db.conn.execute("SELECT id FROM flowsync.schedulers")] == ["s-recent"]
    assert [r["dedupe_key"] for r in db.conn.execute("SELECT * FROM flowsync.trigger_fires")] == [
        "recent"
    ]
    assert orphan_jobs(db) == 0
