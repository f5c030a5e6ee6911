"""Duration strings: parsing, rejection and the canonical form."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowsync.definition.durations import (
    MAX_DURATION,
    DurationError,
    duration_seconds,
    format_duration,
    parse_duration,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("500ms", timedelta(milliseconds=500)),
        ("1s", timedelta(seconds=1)),
        ("10m", timedelta(minutes=10)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("2d", timedelta(days=2)),
        ("1d2h3m4s5ms", timedelta(days=1, hours=2, minutes=3, seconds=4, milliseconds=5)),
        ("90m", timedelta(minutes=90)),
        ("1500ms", timedelta(seconds=1.5)),
        ("0s", timedelta(0)),
        ("3650d", MAX_DURATION),
    ],
)
def test_parses(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "1",
        "s",
        "1x",
        "1.5s",
        "-1s",
        "+1s",
        "1 s",
        " 1s",
        "1s ",
        "1S",
        "1h1h",
        "1m1h",
        "5ms1s",
        "1sms",
        "1e3s",
        "3651d",
        "9999999999d",
        "PT1H",
    ],
)
def test_rejects(text: str) -> None:
    with pytest.raises(DurationError) as info:
        parse_duration(text)
    assert str(info.value)  # always a message for users


def test_rejects_non_strings() -> None:
    with pytest.raises(DurationError):
        parse_duration(10)  # type: ignore[arg-type]


def test_messages_explain_the_problem() -> None:
    with pytest.raises(DurationError, match="largest first"):
        parse_duration("1m1h")
    with pytest.raises(DurationError, match="too long"):
        parse_duration("5000d")
    with pytest.raises(DurationError, match=r'invalid duration "1\.5s"'):
        parse_duration("1.5s")


def test_seconds() -> None:
    assert duration_seconds("1m30s") == 90.0
    assert duration_seconds("250ms") == 0.25


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(0), "0s"),
        (timedelta(milliseconds=500), "500ms"),
        (timedelta(minutes=90), "1h30m"),
        (timedelta(days=2, seconds=1), "2d1s"),
        (timedelta(seconds=1, microseconds=999), "1s"),
    ],
)
def test_format(value: timedelta, text: str) -> None:
    assert format_duration(value) == text


def test_format_rejects_negative() -> None:
    with pytest.raises(DurationError):
        format_duration(timedelta(seconds=-1))


@settings(deadline=None)
@given(st.integers(min_value=0, max_value=MAX_DURATION // timedelta(milliseconds=1)))
def test_round_trip_from_values(milliseconds: int) -> None:
    value = timedelta(milliseconds=milliseconds)
    assert parse_duration(format_duration(value)) == value


_PARTS = st.tuples(
    *(st.none() | st.integers(min_value=0, max_value=999) for _ in ("d", "h", "m", "s", "ms"))
).filter(lambda parts: any(p is not None for p in parts))


@settings(deadline=None)
@given(_PARTS)
def test_round_trip_from_text(parts: tuple[int | None, ...]) -> None:
    text = "".join(
        f"{n}{unit}"
        for n, unit in zip(parts, ("d", "h", "m", "s", "ms"), strict=True)
        if n is not None
    )
    value = parse_duration(text)
    assert parse_duration(format_duration(value)) == value
    assert format_duration(parse_duration(format_duration(value))) == format_duration(value)
