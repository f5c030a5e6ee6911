"""The config of each trigger kind, its validation, and the columns derived from it.

    webhook  {"auth": "hmac" | "bearer", "filter": CEL, "delivery_id_header": "X-Delivery-Id",
              "max_body_bytes": 1048576, "require_json": true}
    cron     {"cron": "0 9 * * 1-5", "timezone": "Europe/Berlin"}  or  {"interval": "30s"},
             plus "misfire": "run_once" | "skip" and "misfire_grace": "1m"
    event    {"type": "orders.paid" | "orders.*" | "*", "filter": CEL}
    pgmq     {"queue": "orders", "filter": CEL, "batch_size": 10, "visibility_timeout": "30s"}

Every kind may also have an `input_mapping` (see flowsync.triggers.mapping).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from flowsync.definition import DurationError, parse_duration
from flowsync.triggers.mapping import check_expression
from flowsync.triggers.schedule import IntervalSchedule, Schedule, ScheduleError, parse_cron

__all__ = [
    "KINDS",
    "CheckedTrigger",
    "CronConfig",
    "EventConfig",
    "PgmqConfig",
    "TriggerConfigError",
    "WebhookConfig",
    "check_trigger",
    "cron_schedule",
    "decode_config",
    "first_tick",
]

KINDS = ("webhook", "cron", "event", "pgmq")
MAX_WEBHOOK_BODY = 16 * 1024 * 1024
MIN_INTERVAL = timedelta(seconds=1)
EVENT_TYPE_RE = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")
_EVENT_PATTERN_RE = re.compile(r"^(\*|[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*(\.\*)?)$")
_HEADER_RE = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$")
_QUEUE_RE = re.compile(r"^[a-z0-9_]{1,47}$")


class _Config(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class WebhookConfig(_Config):
    auth: Literal["hmac", "bearer"] = "hmac"
    filter: str | None = None
    delivery_id_header: str = "X-Delivery-Id"
    max_body_bytes: Annotated[int, Meta(ge=1, le=MAX_WEBHOOK_BODY)] = 1024 * 1024
    require_json: bool = True


class CronConfig(_Config):
    cron: str | None = None
    interval: str | None = None
    timezone: str = "UTC"
    misfire: Literal["run_once", "skip"] = "run_once"
    misfire_grace: str = "1m"


class EventConfig(_Config):
    type: str
    filter: str | None = None


class PgmqConfig(_Config):
    queue: str
    filter: str | None = None
    batch_size: Annotated[int, Meta(ge=1, le=1000)] = 10
    visibility_timeout: str = "30s"


_CONFIG_TYPES: dict[str, type[_Config]] = {
    "webhook": WebhookConfig,
    "cron": CronConfig,
    "event": EventConfig,
    "pgmq": PgmqConfig,
}


class TriggerConfigError(ValueError):
    """Problems with a trigger's kind, config or mapping, as (path, message) pairs."""

    def __init__(self, issues: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{path}: {message}" for path, message in issues))
        self.issues = issues


class CheckedTrigger(msgspec.Struct, frozen=True):
    """A valid trigger: its normalized config and the columns derived from it."""

    kind: str
    config: dict[str, Any]
    input_mapping: str | None
    event_type: str | None
    schedule: Schedule | None


_AT = re.compile(r"^(.*) - at `\$(.*)`$", re.DOTALL)


def decode_config(kind: str, config: Any) -> _Config:
    """The typed config of a trigger kind; TriggerConfigError naming the field if bad."""
    try:
        return msgspec.convert(config, _CONFIG_TYPES[kind])
    except msgspec.ValidationError as exc:
        message, path = str(exc), ""
        if found := _AT.match(message):
            message, path = found[1], found[2]
        if unknown := re.search(r"unknown field `(.*)`", message):
            path = f"{path}.{unknown[1]}"
        raise TriggerConfigError([(f"config{path}", message)]) from None


def _duration(text: str, path: str, issues: list[tuple[str, str]]) -> timedelta | None:
    try:
        return parse_duration(text)
    except DurationError as exc:
        issues.append((path, str(exc)))
        return None


def cron_schedule(config: CronConfig) -> Schedule:
    """The schedule of a (valid) cron config; ScheduleError if it is not valid."""
    if config.cron is not None:
        return parse_cron(config.cron, config.timezone)
    if config.interval is None:
        raise ScheduleError("give either cron or interval")
    every = parse_duration(config.interval)
    if every < MIN_INTERVAL:
        raise ScheduleError(f"the shortest interval is 1s, got {config.interval!r}")
    return IntervalSchedule(every)


def _check_kind(config: _Config, issues: list[tuple[str, str]]) -> Schedule | None:
    if isinstance(config, WebhookConfig):
        if not _HEADER_RE.match(config.delivery_id_header):
            issues.append(("config.delivery_id_header", "not a valid HTTP header name"))
    elif isinstance(config, CronConfig):
        if (config.cron is None) == (config.interval is None):
            path = "config.cron" if config.cron is None else "config.interval"
            issues.append((path, "give exactly one of cron (with timezone) or interval"))
            return None
        _duration(config.misfire_grace, "config.misfire_grace", issues)
        try:
            return cron_schedule(config)
        except (ScheduleError, DurationError) as exc:
            path = "config.cron" if config.cron is not None else "config.interval"
            if config.cron is not None and str(exc).startswith("unknown time zone"):
                path = "config.timezone"
            issues.append((path, str(exc)))
    elif isinstance(config, EventConfig):
        if len(config.type) > 200 or not _EVENT_PATTERN_RE.match(config.type):
            issues.append(
                (
                    "config.type",
                    f"invalid event type pattern {config.type!r}: an exact type like "
                    '"orders.paid", a prefix like "orders.*", or "*"',
                )
            )
    elif isinstance(config, PgmqConfig):
        if not _QUEUE_RE.match(config.queue):
            issues.append(
                ("config.queue", "a pgmq queue name: 1-47 lowercase letters, digits or '_'")
            )
        vt = _duration(config.visibility_timeout, "config.visibility_timeout", issues)
        if vt is not None and vt < MIN_INTERVAL:
            issues.append(("config.visibility_timeout", "at least 1s"))
    return None


def check_trigger(kind: Any, config: Any, input_mapping: Any) -> CheckedTrigger:
    """Validate a trigger; TriggerConfigError lists every problem with its path."""
    if kind not in KINDS:
        raise TriggerConfigError([("kind", f"unknown kind {kind!r}; one of {', '.join(KINDS)}")])
    if not isinstance(config, dict):
        raise TriggerConfigError([("config", "expected an object")])
    decoded = decode_config(kind, config)
    issues: list[tuple[str, str]] = []
    schedule = _check_kind(decoded, issues)
    source = getattr(decoded, "filter", None)
    if source is not None and (problem := check_expression(source, kind)):
        issues.append(("config.filter", problem))
    if input_mapping is not None and (problem := check_expression(input_mapping, kind)):
        issues.append(("input_mapping", problem))
    if issues:
        raise TriggerConfigError(issues)
    return CheckedTrigger(
        kind=kind,
        # Stored with every default filled in, so the effective config is what one reads.
        config={k: v for k, v in msgspec.to_builtins(decoded).items() if v is not None},
        input_mapping=input_mapping,
        event_type=decoded.type if isinstance(decoded, EventConfig) else None,
        schedule=schedule,
    )


def first_tick(checked: CheckedTrigger, now: datetime) -> datetime | None:
    """The first tick after `now` of a cron trigger (None for other kinds)."""
    return None if checked.schedule is None else checked.schedule.next_after(now)
