"""The cron duty: fire every due tick of cron and interval triggers exactly once.

    scheduler A ─┐   one transaction per batch:
    scheduler B ─┼─▶ trigger_claim_due (FOR NO KEY UPDATE SKIP LOCKED: each trigger to one caller)
                 │     └─ per trigger: due_ticks → fire_trigger(tick) → trigger_advance(next)
                 └─▶ a second caller skips locked triggers, and sees advanced ones as not due

Even if two callers did handle one trigger, fire_trigger's unique (trigger, "tick:<time>")
key starts each tick's execution once. Safe to call every few hundred milliseconds.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import asyncpg
from cronsim import CronSimError

from flowsync.definition import DurationError, parse_duration
from flowsync.log import get_logger
from flowsync.store import triggers as trigger_store
from flowsync.store.triggers import TriggerRow
from flowsync.triggers.config import CronConfig, TriggerConfigError, cron_schedule, decode_config
from flowsync.triggers.mapping import MappingError, build_input
from flowsync.triggers.schedule import ScheduleError, due_ticks

if TYPE_CHECKING:
    from flowsync.store.triggers import Connection

__all__ = ["BATCH_SIZE", "fire_due_cron_triggers", "tick_key"]

log = get_logger("flowsync.triggers.cron")

#: Triggers handled per transaction.
BATCH_SIZE = 50
#: A trigger whose config cannot be read (it could not be saved so) is looked at again after.
_BROKEN_RETRY = timedelta(hours=1)


def tick_key(scheduled_for: datetime) -> str:
    """The dedupe key of one tick: its time in UTC to the microsecond."""
    return "tick:" + scheduled_for.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def fire_due_cron_triggers(pool: asyncpg.Pool[Any], now: datetime | None = None) -> int:
    """Fire the due ticks of every enabled cron/interval trigger (subject to its misfire
    policy), advance each to its next tick, and return the number of executions started."""
    now = now or datetime.now(UTC)
    started = 0
    while True:
        async with pool.acquire() as conn, conn.transaction():
            triggers = await trigger_store.claim_due_cron(conn, BATCH_SIZE, now)
            for trigger in triggers:
                started += await _fire_trigger(conn, trigger, now)
        if len(triggers) < BATCH_SIZE:
            return started


async def _fire_trigger(conn: Connection, trigger: TriggerRow, now: datetime) -> int:
    assert trigger.next_fire_at is not None
    try:
        config = decode_config("cron", trigger.config)
        assert isinstance(config, CronConfig)
        schedule = cron_schedule(config)
        grace = parse_duration(config.misfire_grace)
    except (TriggerConfigError, ScheduleError, DurationError, CronSimError) as exc:
        log.error("trigger.cron.invalid", trigger_id=str(trigger.id), error=str(exc))
        await trigger_store.advance_trigger(conn, trigger.id, now + _BROKEN_RETRY)
        return 0
    due = due_ticks(schedule, trigger.next_fire_at, now, misfire=config.misfire, grace=grace)
    if due.misfired:
        log.warning(
            "trigger.cron.misfire",
            trigger_id=str(trigger.id),
            policy=config.misfire,
            since=trigger.next_fire_at.isoformat(),
        )
    started = 0
    for tick in due.fire:
        stamp = tick.astimezone(UTC).isoformat().replace("+00:00", "Z")
        payload = {"scheduled_for": stamp}
        variables = {
            "payload": payload,
            "trigger": {"id": str(trigger.id), "kind": "cron", "workflow": trigger.workflow},
        }
        error: str | None = None
        value: Any = None
        try:
            value = build_input(trigger.input_mapping, variables, payload)
        except MappingError as exc:
            error = str(exc)
        result = await trigger_store.fire_trigger(
            conn, trigger.id, tick_key(tick), value, error=error, scheduled_for=tick
        )
        if result.result == "started":
            started += 1
        elif result.result == "failed":
            log.warning(
                "trigger.fire.failed", trigger_id=str(trigger.id), tick=stamp, error=result.error
            )
    await trigger_store.advance_trigger(conn, trigger.id, due.next_fire_at)
    return started
