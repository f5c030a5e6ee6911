"""fire_due_cron_triggers: every tick once, however many callers; misfires; DST; retention."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
from psycopg.types.json import Jsonb

from flowsync.triggers.cron import fire_due_cron_triggers
from tests.sql.conftest import T0, Db, at
from tests.triggers.conftest import executions, fires, pool_for, with_pool


def cron_trigger(
    db: Db,
    config: dict[str, Any],
    next_fire_at: datetime,
    mapping: str | None = None,
    workflow: str = "wf",
) -> UUID:
    row = db.conn.execute(
        "SELECT flowsync.trigger_create(%s, 'cron', true, %s, %s, NULL, NULL, NULL, %s) AS id",
        (workflow, Jsonb(config), mapping, next_fire_at),
    ).fetchone()
    assert row is not None
    return UUID(str(row["id"]))


def next_fire(db: Db, trigger_id: UUID) -> datetime:
    row = db.conn.execute(
        "SELECT next_fire_at FROM flowsync.triggers WHERE id = %s", (trigger_id,)
    ).fetchone()
    assert row is not None
    value: datetime = row["next_fire_at"]
    return value


def fire(dsn: str, now: datetime) -> int:
    return with_pool(dsn, lambda pool: fire_due_cron_triggers(pool, now))


def test_each_due_tick_fires_once_with_its_time(db: Db, database_dsn: str) -> None:
    trigger = cron_trigger(db, {"interval": "1s"}, T0)
    assert fire(database_dsn, at(2.5)) == 3
    assert next_fire(db, trigger) == at(3)
    assert fire(database_dsn, at(2.5)) == 0
    assert sorted((r["input"] for r in executions(db)), key=str) == [
        {"scheduled_for": "2030-01-01T12:00:00Z"},
        {"scheduled_for": "2030-01-01T12:00:01Z"},
        {"scheduled_for": "2030-01-01T12:00:02Z"},
    ]
    assert [f["scheduled_for"] for f in fires(db)] == [at(0), at(1), at(2)]
    assert fires(db)[0]["dedupe_key"] == "tick:2030-01-01T12:00:00Z"


def test_concurrent_callers_fire_each_tick_once(db: Db, database_dsn: str) -> None:
    triggers = [cron_trigger(db, {"interval": "1s"}, T0) for _ in range(5)]

    async def race(pool: asyncpg.Pool[Any]) -> list[int]:
        return list(
            await asyncio.gather(*(fire_due_cron_triggers(pool, at(9.5)) for _ in range(6)))
        )

    async def run() -> list[int]:
        async with pool_for(database_dsn) as pool:
            return await race(pool)

    counts = asyncio.run(run())
    assert sum(counts) == 5 * 10
    assert len(executions(db)) == 5 * 10
    # A caller that still believed a tick was due (a stale next_fire_at) starts nothing new.
    db.conn.execute(
        "UPDATE flowsync.triggers SET next_fire_at = %s WHERE id = %s", (T0, triggers[0])
    )
    assert fire(database_dsn, at(9.5)) == 0
    assert len(executions(db)) == 5 * 10


def test_misfire_skip_and_run_once_after_downtime(db: Db, database_dsn: str) -> None:
    skip = cron_trigger(db, {"interval": "1m", "misfire": "skip", "misfire_grace": "10s"}, T0)
    once = cron_trigger(db, {"interval": "1m", "misfire": "run_once", "misfire_grace": "10s"}, T0)
    now = T0 + timedelta(hours=1, seconds=30)
    assert fire(database_dsn, now) == 1
    assert [f["trigger_id"] for f in fires(db)] == [once]
    assert fires(db)[0]["scheduled_for"] == T0 + timedelta(hours=1)
    assert next_fire(db, skip) == next_fire(db, once) == T0 + timedelta(hours=1, minutes=1)


def test_input_mapping_and_its_failure(db: Db, database_dsn: str) -> None:
    cron_trigger(
        db, {"interval": "1m"}, T0, mapping="{'at': payload.scheduled_for, 'w': trigger.workflow}"
    )
    broken = cron_trigger(db, {"interval": "1m"}, T0, mapping="payload.nope")
    assert fire(database_dsn, at(1)) == 1
    assert [r["input"] for r in executions(db)] == [{"at": "2030-01-01T12:00:00Z", "w": "wf"}]
    failed = [f for f in fires(db) if f["trigger_id"] == broken]
    assert failed[0]["execution_id"] is None
    assert failed[0]["error"].startswith("input_mapping:")
    assert next_fire(db, broken) == at(60)


def test_disabled_and_archived(db: Db, database_dsn: str) -> None:
    off = cron_trigger(db, {"interval": "1m"}, T0)
    db.conn.execute("UPDATE flowsync.triggers SET enabled = false WHERE id = %s", (off,))
    cron_trigger(db, {"interval": "1m"}, T0)
    db.conn.execute("SELECT flowsync.set_workflow_archived('wf', true)")
    assert fire(database_dsn, at(1)) == 0
    [failed] = fires(db)
    assert "archived" in failed["error"]
    assert next_fire(db, off) == T0


def test_berlin_daily_fires_once_on_each_dst_change(db: Db, database_dsn: str) -> None:
    """A 02:30 Europe/Berlin job, driven minute by minute across both 2024 changes."""
    start = datetime(2024, 3, 30, 0, 0, tzinfo=UTC)
    cron_trigger(
        db,
        {"cron": "30 2 * * *", "timezone": "Europe/Berlin"},
        start + timedelta(hours=1, minutes=30),
    )
    for day_start in (datetime(2024, 3, 30, tzinfo=UTC), datetime(2024, 10, 26, tzinfo=UTC)):
        db.conn.execute("UPDATE flowsync.triggers SET next_fire_at = %s", (day_start,))
        with_pool(database_dsn, lambda pool, d=day_start: _step(pool, d))
    times = [f["scheduled_for"].astimezone(UTC).strftime("%m-%d %H:%M") for f in fires(db)]
    # 02:30 CET, then 03:00 CEST (02:30 does not exist), 02:30 CEST, once on the fall-back
    # day (02:30 CEST; the repeated 02:30 CET does not fire), then 02:30 CET.
    assert times == [
        "03-30 01:30", "03-31 01:00", "04-01 00:30",
        "10-26 00:30", "10-27 00:30", "10-28 01:30",
    ]  # fmt: skip


async def _step(pool: asyncpg.Pool[Any], day_start: datetime) -> None:
    now = day_start
    while now < day_start + timedelta(days=3):
        now += timedelta(minutes=15)
        await fire_due_cron_triggers(pool, now)


def test_prune_and_history_view(db: Db, database_dsn: str) -> None:
    cron_trigger(db, {"interval": "1s"}, T0)
    assert fire(database_dsn, at(4.5)) == 5
    history = db.conn.execute("SELECT * FROM flowsync.trigger_fire_history").fetchall()
    assert len(history) == 5
    assert history[0]["workflow"] == "wf" and history[0]["kind"] == "cron"
    assert history[0]["execution_status"] == "queued"
    db.conn.execute("UPDATE flowsync.trigger_fires SET fired_at = %s", (T0,))
    db.conn.execute(
        "UPDATE flowsync.trigger_fires SET fired_at = %s "
        "WHERE id = (SELECT max(id) FROM flowsync.trigger_fires)",
        (at(100),),
    )
    pruned = db.conn.execute(
        "SELECT flowsync.prune_trigger_fires(%s, 3) AS n", (at(50),)
    ).fetchone()
    assert pruned is not None and pruned["n"] == 3
    pruned = db.conn.execute(
        "SELECT flowsync.prune_trigger_fires(%s, 3) AS n", (at(50),)
    ).fetchone()
    assert pruned is not None and pruned["n"] == 1
    assert len(fires(db)) == 1
