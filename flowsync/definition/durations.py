"""Durations as written in workflow definitions ("500ms", "1h30m", "2d") and their parsing."""

from __future__ import annotations

import re
from datetime import timedelta

__all__ = [
    "DURATION_PATTERN",
    "MAX_DURATION",
    "DurationError",
    "duration_seconds",
    "format_duration",
    "parse_duration",
]

# Units from largest to smallest; a duration lists each unit at most once, in this order.
_UNITS: tuple[tuple[str, int], ...] = (
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
)
_UNIT_MS = dict(_UNITS)
_UNIT_RANK = {unit: rank for rank, (unit, _) in enumerate(_UNITS)}
_PART = re.compile(r"(\d{1,9})(ms|d|h|m|s)")

#: A JSON Schema friendly description of the syntax (the parser is the real check).
DURATION_PATTERN = r"^(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?$"

#: The longest duration a definition may state (delays, timeouts, backoffs).
MAX_DURATION = timedelta(days=3650)


class DurationError(ValueError):
    """A duration string that does not parse; the message says why, for users."""


def parse_duration(text: str) -> timedelta:
    """Parse "500ms", "1s", "10m", "1h30m", "2d" (units d, h, m, s, ms, largest first)."""
    if not isinstance(text, str) or not text:
        raise DurationError('expected a duration like "500ms", "30s", "10m", "1h30m" or "2d"')
    pos = 0
    total_ms = 0
    last_rank = -1
    while pos < len(text):
        match = _PART.match(text, pos)
        if match is None:
            raise DurationError(
                f'invalid duration "{text}": expected whole numbers followed by a unit '
                '(d, h, m, s, ms), like "500ms", "30s", "1h30m" or "2d"'
            )
        number, unit = match.groups()
        rank = _UNIT_RANK[unit]
        if rank <= last_rank:
            raise DurationError(
                f'invalid duration "{text}": units must appear once each, largest first '
                '(d, h, m, s, ms), like "1h30m"'
            )
        last_rank = rank
        total_ms += int(number) * _UNIT_MS[unit]
        pos = match.end()
    if total_ms > MAX_DURATION // timedelta(milliseconds=1):
        raise DurationError(f'duration "{text}" is too long (at most {MAX_DURATION.days}d)')
    return timedelta(milliseconds=total_ms)


def duration_seconds(text: str) -> float:
    """Parse a duration string and return it in seconds."""
    return parse_duration(text).total_seconds()


def format_duration(value: timedelta) -> str:
    """Write a duration in its shortest canonical form ("1h30m"); sub-millisecond parts drop."""
    total_ms = value // timedelta(milliseconds=1)
    if total_ms < 0:
        raise DurationError("durations cannot be negative")
    if total_ms == 0:
        return "0s"
    parts: list[str] = []
    for unit, unit_ms in _UNITS:
        count, total_ms = divmod(total_ms, unit_ms)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
