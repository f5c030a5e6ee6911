"""Tick math: cron in a time zone across DST changes, intervals, misfire policies; signatures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from flowsync.triggers.schedule import (
    IntervalSchedule,
    ScheduleError,
    due_ticks,
    parse_cron,
)
from flowsync.triggers.signature import check_bearer, check_signature, sign


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def ticks(expression: str, start: str, count: int, zone: str = "Europe/Berlin") -> list[str]:
    schedule = parse_cron(expression, zone)
    out: list[str] = []
    moment = utc(start)
    for _ in range(count):
        moment = schedule.next_after(moment)
        out.append(moment.strftime("%Y-%m-%d %H:%M"))
    return out


def test_berlin_spring_forward() -> None:
    # 2024-03-31: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist that night.
    assert ticks("30 2 * * *", "2024-03-29 12:00", 3) == [
        "2024-03-30 01:30",  # 02:30 CET
        "2024-03-31 01:00",  # the skipped 02:30 fires at 03:00 CEST, once
        "2024-04-01 00:30",  # 02:30 CEST
    ]
    # Hourly: the wall clock skips 02:00 but no real hour is lost or doubled.
    assert ticks("0 * * * *", "2024-03-30 23:30", 4) == [
        "2024-03-31 00:00",  # 01:00 CET
        "2024-03-31 01:00",  # 03:00 CEST
        "2024-03-31 02:00",
        "2024-03-31 03:00",
    ]


def test_berlin_fall_back() -> None:
    # 2024-10-27: 03:00 CEST falls back to 02:00 CET; 02:30 happens twice, fires once.
    assert ticks("30 2 * * *", "2024-10-25 12:00", 3) == [
        "2024-10-26 00:30",  # 02:30 CEST
        "2024-10-27 00:30",  # the first 02:30 (CEST) only
        "2024-10-28 01:30",  # 02:30 CET
    ]
    # Hourly: both 02:00s are real hours, so both fire.
    assert ticks("0 * * * *", "2024-10-26 23:30", 4) == [
        "2024-10-27 00:00",  # 02:00 CEST
        "2024-10-27 01:00",  # 02:00 CET
        "2024-10-27 02:00",
        "2024-10-27 03:00",
    ]
    # 09:00 every day stays 09:00 local on both sides of the change.
    assert ticks("0 9 * * *", "2024-10-26 00:00", 2) == ["2024-10-26 07:00", "2024-10-27 08:00"]


def test_cron_parse_errors_and_macros() -> None:
    with pytest.raises(ScheduleError, match="5 fields"):
        parse_cron("* * * * * *", "UTC")
    with pytest.raises(ScheduleError, match="Bad hour"):
        parse_cron("0 25 * * *", "UTC")
    with pytest.raises(ScheduleError, match="time zone"):
        parse_cron("0 * * * *", "Europe/Atlantis")
    assert parse_cron("@daily", "UTC").expression == "0 0 * * *"


def test_interval_ticks_are_aligned_to_the_epoch() -> None:
    every = IntervalSchedule(timedelta(minutes=5))
    assert every.next_after(utc("2030-01-01 12:03:10")) == utc("2030-01-01 12:05:00")
    assert every.next_after(utc("2030-01-01 12:05:00")) == utc("2030-01-01 12:10:00")
    assert every.last_before(utc("2030-01-01 12:05:00")) == utc("2030-01-01 12:00:00")
    second = IntervalSchedule(timedelta(seconds=1))
    assert second.next_after(utc("2030-01-01 12:00:00.5")) == utc("2030-01-01 12:00:01")


def test_misfire_policies() -> None:
    minute = IntervalSchedule(timedelta(minutes=1))
    start, now = utc("2030-01-01 12:00"), utc("2030-01-01 13:00:30")
    grace = timedelta(seconds=10)
    skipped = due_ticks(minute, start, now, misfire="skip", grace=grace)
    assert skipped.fire == [] and skipped.misfired
    assert skipped.next_fire_at == utc("2030-01-01 13:01")
    once = due_ticks(minute, start, now, misfire="run_once", grace=grace)
    assert once.fire == [utc("2030-01-01 13:00")]
    assert once.next_fire_at == utc("2030-01-01 13:01")
    # Ticks within the grace period are on time: each fires, in order.
    late = due_ticks(minute, start, utc("2030-01-01 12:02:05"), misfire="skip", grace=grace * 30)
    assert late.fire == [utc("2030-01-01 12:00"), utc("2030-01-01 12:01"), utc("2030-01-01 12:02")]
    assert not late.misfired


def test_signature_check() -> None:
    body = b'{"a":1}'
    header = sign("k" * 16, 1_900_000_000, body)
    assert check_signature("k" * 16, header, body, now=1_900_000_100) is None
    assert check_signature("k" * 16, header, body, now=1_900_000_301) is not None
    assert check_signature("x" * 16, header, body, now=1_900_000_000) == (
        "the signature does not match"
    )
    assert check_signature("k" * 16, header, b"{}", now=1_900_000_000) is not None
    assert check_signature("k" * 16, None, body, now=1_900_000_000) is not None
    assert check_bearer("tok-tok-tok", {"authorization": "Bearer tok-tok-tok"}) is None
    assert check_bearer("tok-tok-tok", {"authorization": "Bearer tok"}) is not None
