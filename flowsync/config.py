"""Settings read from FLOWSYNC_* environment variables (one documented struct)."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Literal

import msgspec

from flowsync.definition.durations import DurationError, parse_duration

LogFormat = Literal["auto", "json", "console"]
DB_COMMAND_TIMEOUT_SECONDS = 60.0


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Process settings. Every field maps to FLOWSYNC_<FIELD> in the environment."""

    database_url: str | None = None
    """Postgres to use. When unset, `flowsync dev` starts an embedded server."""
    data_dir: Path = Path(".flowsync")
    """Where the embedded server keeps its data between runs."""
    host: str = "127.0.0.1"
    """Address the HTTP API binds to."""
    port: int = 8080
    """Port the HTTP API binds to."""
    log_level: str = "info"
    log_format: LogFormat = "auto"
    """`json` lines, `console` (readable), or `auto`: console on a terminal, json otherwise."""
    max_body_bytes: int = 2 * 1024 * 1024
    """Requests with larger bodies are answered 413."""
    db_pool_min: int = 1
    db_pool_max: int = 10
    db_command_timeout: float = DB_COMMAND_TIMEOUT_SECONDS
    """Seconds a database call may take before it is cancelled and fails with a timeout, so
    that a half-open connection cannot hold a request, a worker's call or a duty forever."""
    retention: timedelta | None = timedelta(days=7)
    """Finished executions (with their steps and logs), trigger fires and stopped workers older
    than this are deleted by the scheduler leader ("7d", "12h"); `off` keeps them forever."""


_FIELDS = {
    "database_url": str,
    "data_dir": Path,
    "host": str,
    "port": int,
    "log_level": str,
    "log_format": str,
    "max_body_bytes": int,
    "db_pool_min": int,
    "db_pool_max": int,
    "db_command_timeout": float,
    "retention": timedelta,
}


class ConfigError(ValueError):
    """A FLOWSYNC_* variable holds a value that cannot be used."""


def _retention(value: str) -> timedelta | None:
    if value.strip().lower() in ("off", "never"):
        return None
    try:
        retention = parse_duration(value.strip())
    except DurationError as exc:
        raise ConfigError(f"FLOWSYNC_RETENTION: {exc} (or 'off' to keep everything)") from None
    if retention <= timedelta(0):
        raise ConfigError("FLOWSYNC_RETENTION: must be longer than 0 (or 'off')")
    return retention


def _seconds(name: str, value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise ConfigError(f"{name}: expected a number of seconds, got {value!r}") from None
    if not 0 < seconds < float("inf"):
        raise ConfigError(f"{name}: must be a number of seconds above 0, got {value!r}")
    return seconds


def load_settings(environ: dict[str, str] | None = None, **overrides: object) -> Settings:
    """Build Settings from the environment; keyword overrides (e.g. from CLI flags) win."""
    env = os.environ if environ is None else environ
    raw: dict[str, object] = {}
    for field, kind in _FIELDS.items():
        value = env.get(f"FLOWSYNC_{field.upper()}")
        if value is None or value == "":
            continue
        if kind is int:
            try:
                raw[field] = int(value)
            except ValueError:
                raise ConfigError(
                    f"FLOWSYNC_{field.upper()}: expected an integer, got {value!r}"
                ) from None
        elif kind is float:
            raw[field] = _seconds(f"FLOWSYNC_{field.upper()}", value)
        elif kind is timedelta:
            raw[field] = _retention(value)
        else:
            raw[field] = kind(value)
    raw.update({k: v for k, v in overrides.items() if v is not None})
    if "data_dir" in raw:
        raw["data_dir"] = Path(str(raw["data_dir"]))
    try:
        return Settings(**raw)  # type: ignore[arg-type]
    except TypeError as exc:
        raise ConfigError(f"invalid FlowSync settings: {exc}") from None
