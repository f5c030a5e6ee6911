"""The `delay` action: wait on a durable timer (a Snooze), holding no worker meanwhile.

first run (state None)  -> until = now + duration, or the rendered `until`
                           -> Snooze(until, {"until": iso})   (output at once if past)
woken (state["until"])  -> now >= until: output {"waited_until": iso}
                           -> else Snooze again (an early wake-up is harmless)
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flowsync.actions.base import PermanentError, Snooze, StepContext, load_config
from flowsync.definition.configs import DelayConfig
from flowsync.definition.durations import DurationError, parse_duration

__all__ = ["delay", "format_timestamp", "parse_timestamp"]


async def delay(ctx: StepContext) -> dict[str, Any] | Snooze:
    """Snooze until the target time, then output when the wait ended."""
    now = ctx.resources.now()
    if ctx.state is not None and "until" in ctx.state:
        # The target was fixed on the first run: re-rendering `until` could move it.
        until = parse_timestamp(ctx.state["until"], "state.until")
    else:
        until = _target(ctx, now)
    if now >= until:
        return {"waited_until": format_timestamp(until)}
    ctx.log.info("delay.snoozed", until=format_timestamp(until))
    return Snooze(until=until, state={"until": format_timestamp(until)})


def _target(ctx: StepContext, now: datetime) -> datetime:
    config = load_config(ctx, DelayConfig)
    if config.duration is not None:
        try:
            return now + parse_duration(config.duration)
        except DurationError as exc:
            raise PermanentError(f"config.duration: {exc}") from None
    return parse_timestamp(ctx.render(config.until, field="until"), "config.until")


def parse_timestamp(value: Any, where: str) -> datetime:
    """An RFC 3339 timestamp (or a datetime, as CEL timestamps render) with a time zone, in
    UTC; PermanentError naming the value otherwise."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise PermanentError(
                f'{where}: "{value}" is not an RFC 3339 timestamp (like "2030-01-31T09:00:00Z")'
            ) from None
    else:
        raise PermanentError(
            f"{where}: expected an RFC 3339 timestamp, got {type(value).__name__} {value!r}"
        )
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise PermanentError(
            f'{where}: "{value}" has no time zone; add "Z" or an offset like "+02:00"'
        )
    return parsed.astimezone(UTC)


def format_timestamp(value: datetime) -> str:
    """RFC 3339 in UTC with a "Z" suffix."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
