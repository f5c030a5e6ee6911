"""When cron and interval triggers fire: tick math (cronsim, zoneinfo) and the misfire policy.

A cron schedule is a standard 5-field expression read in a time zone. cronsim handles daylight
saving time the way people expect: a time that does not exist (spring forward) fires at the
next valid minute, and a fixed time inside the repeated hour (fall back) fires once.

An interval schedule ticks every N (at least 1s) at whole multiples of N since the Unix
epoch, so "1m" ticks at :00 seconds and "5m" at :00, :05, ... whenever it was created.

Ticks are fired in order. After downtime, ticks later than the grace period are misfires:
`skip` drops them; `run_once` fires the latest one once (unless an on-time tick fires anyway).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from cronsim import CronSim, CronSimError

__all__ = [
    "MACROS",
    "MAX_TICKS_PER_CALL",
    "CronSchedule",
    "DueTicks",
    "IntervalSchedule",
    "Schedule",
    "ScheduleError",
    "due_ticks",
    "parse_cron",
]

#: Shorthands accepted for the common schedules.
MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

#: At most this many on-time ticks of one trigger fire in one call; the rest wait for the next.
MAX_TICKS_PER_CALL = 100

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)


class ScheduleError(ValueError):
    """A cron expression or interval that cannot be used; the message is for users."""


@dataclass(frozen=True, slots=True)
class CronSchedule:
    expression: str
    timezone: ZoneInfo

    def next_after(self, moment: datetime) -> datetime:
        """The first tick strictly after `moment`, in UTC."""
        tick = next(CronSim(self.expression, moment.astimezone(self.timezone)))
        return tick.astimezone(UTC)

    def last_before(self, moment: datetime) -> datetime:
        """The last tick strictly before `moment`, in UTC."""
        ticks = CronSim(self.expression, moment.astimezone(self.timezone), reverse=True)
        tick = next(ticks)
        while tick >= moment:  # reverse iteration may include `moment` itself
            tick = next(ticks)
        return tick.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class IntervalSchedule:
    every: timedelta

    def next_after(self, moment: datetime) -> datetime:
        step = self.every // _ONE_US
        since = (moment - _EPOCH) // _ONE_US
        return _EPOCH + timedelta(microseconds=(since // step + 1) * step)

    def last_before(self, moment: datetime) -> datetime:
        step = self.every // _ONE_US
        since = (moment - _EPOCH) // _ONE_US
        return _EPOCH + timedelta(microseconds=((since - 1) // step) * step)


Schedule = CronSchedule | IntervalSchedule


def parse_cron(expression: str, timezone: str) -> CronSchedule:
    """A checked cron schedule; ScheduleError says what is wrong with which part."""
    try:
        zone = ZoneInfo(timezone)
    except (ValueError, KeyError, OSError):
        raise ScheduleError(
            f"unknown time zone {timezone!r}: use an IANA name like 'Europe/Berlin' or 'UTC'"
        ) from None
    text = MACROS.get(expression.strip().lower(), expression.strip())
    fields = text.split()
    if len(fields) != 5:
        raise ScheduleError(
            f"expected 5 fields (minute hour day-of-month month day-of-week) or one of "
            f"{', '.join(MACROS)}; got {len(fields)} field(s) in {expression!r}"
        )
    text = " ".join(fields)
    try:
        next(CronSim(text, datetime.now(zone)))
    except CronSimError as exc:
        raise ScheduleError(f"invalid cron expression {expression!r}: {exc}") from None
    except StopIteration:
        raise ScheduleError(f"cron expression {expression!r} never fires") from None
    return CronSchedule(text, zone)


@dataclass(frozen=True, slots=True)
class DueTicks:
    """What to do for one trigger now: the ticks to fire, and its next tick after that."""

    fire: list[datetime]
    misfired: bool
    next_fire_at: datetime


def due_ticks(
    schedule: Schedule,
    next_fire_at: datetime,
    now: datetime,
    *,
    misfire: str,
    grace: timedelta,
) -> DueTicks:
    """The ticks in [next_fire_at, now] to fire under the misfire policy (`skip`/`run_once`)."""
    cutoff = now - grace
    fire: list[datetime] = []
    missed_latest: datetime | None = None
    if next_fire_at < cutoff:
        # Misfires: everything in [next_fire_at, cutoff). Only the latest matters.
        latest = schedule.last_before(cutoff)
        if latest >= next_fire_at:
            missed_latest = latest
        tick = schedule.next_after(cutoff - _ONE_US)
    else:
        tick = schedule.next_after(next_fire_at - _ONE_US)  # next_fire_at itself, if a tick
    while tick <= now and len(fire) < MAX_TICKS_PER_CALL:
        fire.append(tick)
        tick = schedule.next_after(tick)
    if missed_latest is not None and misfire == "run_once" and not fire:
        fire.append(missed_latest)
    return DueTicks(fire=fire, misfired=missed_latest is not None, next_fire_at=tick)
