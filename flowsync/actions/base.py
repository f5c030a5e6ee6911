"""The contract between the worker and an action: context in, output/outcome/snooze or error out."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import asyncpg
import httpx
import msgspec

from flowsync.config import ConfigError
from flowsync.definition.configs import CONFIG_TYPES, NodeConfig, decode_config
from flowsync.expressions import ExpressionError, render

__all__ = [
    "MAX_LOG_LINES",
    "MAX_LOG_MESSAGE_BYTES",
    "Action",
    "ActionError",
    "Completion",
    "LogLine",
    "PermanentError",
    "Resources",
    "RetryableError",
    "SmtpSettings",
    "Snooze",
    "StepContext",
    "StepLogger",
    "as_action_error",
    "load_config",
    "normalize_result",
    "to_text",
    "utc_now",
]

#: A step keeps at most this many log lines per attempt; the last one says lines were dropped.
MAX_LOG_LINES = 1000
#: Longer messages (in UTF-8 bytes) are cut, and the cut is noted in the message.
MAX_LOG_MESSAGE_BYTES = 8 * 1024

_Config = TypeVar("_Config", bound=NodeConfig)


def utc_now() -> datetime:
    """The real clock, timezone-aware UTC."""
    return datetime.now(UTC)


class Completion(msgspec.Struct, frozen=True):
    """A finished step: its JSON output, and for condition nodes the outcome `when` selects."""

    output: Any = None
    outcome: Any = None


class Snooze(msgspec.Struct, frozen=True):
    """A durable timer: re-queue the step to run at `until` with `state` handed back in
    `StepContext.state`. No worker waits meanwhile, and the attempt is not consumed."""

    until: datetime
    state: dict[str, Any]


class ActionError(Exception):
    """A failed attempt, described for people (`message`, `details`) and for the retry
    policy (`retryable`; `retry_after` seconds overrides the backoff when the remote said so)."""

    def __init__(
        self,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        retryable: bool = True,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.retryable = retryable
        self.retry_after = retry_after

    def to_dict(self) -> dict[str, Any]:
        """The JSON form the worker stores as the step's error."""
        error: dict[str, Any] = {"message": self.message, "retryable": self.retryable}
        if self.details is not None:
            error["details"] = self.details
        if self.retry_after is not None:
            error["retry_after"] = self.retry_after
        return error


class RetryableError(ActionError):
    """A failure worth another attempt (timeouts, 5xx, a remote that asked to come back)."""

    def __init__(
        self,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, details=details, retryable=True, retry_after=retry_after)


class PermanentError(ActionError):
    """A failure that another attempt would repeat (bad input, a 4xx): fail without retry."""

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message, details=details, retryable=False)


class LogLine(msgspec.Struct, frozen=True):
    """One line of a step's log."""

    at: datetime
    level: str
    message: str
    fields: dict[str, Any]


class StepLogger:
    """Collects an attempt's log lines; the worker stores them once the attempt ends.

    Bounded on purpose: a chatty action must not turn one step into megabytes of rows.
    """

    def __init__(self, clock: Callable[[], datetime] = utc_now) -> None:
        self.lines: list[LogLine] = []
        self.dropped = 0
        self._clock = clock

    def debug(self, message: str, **fields: Any) -> None:
        self._add("debug", message, fields)

    def info(self, message: str, **fields: Any) -> None:
        self._add("info", message, fields)

    def warning(self, message: str, **fields: Any) -> None:
        self._add("warning", message, fields)

    def error(self, message: str, **fields: Any) -> None:
        self._add("error", message, fields)

    def _add(self, level: str, message: str, fields: dict[str, Any]) -> None:
        if len(self.lines) >= MAX_LOG_LINES:
            self.dropped += 1
            return
        if len(self.lines) == MAX_LOG_LINES - 1:
            # The last slot tells the reader why the log stops here.
            self.dropped += 1
            level, fields = "warning", {}
            message = f"log limit of {MAX_LOG_LINES} lines reached; later lines are dropped"
        self.lines.append(
            LogLine(at=self._clock(), level=level, message=_cap(message), fields=_jsonable(fields))
        )


def _cap(message: str) -> str:
    encoded = message.encode()
    if len(encoded) <= MAX_LOG_MESSAGE_BYTES:
        return message
    kept = encoded[:MAX_LOG_MESSAGE_BYTES].decode(errors="ignore")
    return f"{kept}… [truncated: {len(encoded)} bytes, kept {MAX_LOG_MESSAGE_BYTES}]"


def _jsonable(fields: dict[str, Any]) -> dict[str, Any]:
    """Fields as JSON builtins (anything unknown becomes its str), capped like messages."""
    converted: dict[str, Any] = msgspec.to_builtins(fields, enc_hook=str, str_keys=True)
    size = len(msgspec.json.encode(converted))
    if size > MAX_LOG_MESSAGE_BYTES:
        return {"truncated": f"fields were {size} bytes, more than {MAX_LOG_MESSAGE_BYTES}"}
    return converted


class SmtpSettings(msgspec.Struct, frozen=True, kw_only=True):
    """How the email action reaches its SMTP server (FLOWSYNC_SMTP_* variables)."""

    host: str
    port: int = 587
    username: str | None = None
    password: str | None = None
    starttls: bool | None = None
    """True: require STARTTLS; False: never; None: upgrade when the server offers it."""
    sender: str | None = None
    """The From address used when a node does not set `from`."""

    def __repr__(self) -> str:  # keep the password out of logs and tracebacks
        return (
            f"SmtpSettings(host={self.host!r}, port={self.port}, username={self.username!r}, "
            f"starttls={self.starttls!r}, sender={self.sender!r})"
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> SmtpSettings | None:
        """Settings from FLOWSYNC_SMTP_HOST, _PORT, _USERNAME, _PASSWORD, _STARTTLS and
        _SENDER; None when FLOWSYNC_SMTP_HOST is unset (email steps then fail, saying so)."""
        host = environ.get("FLOWSYNC_SMTP_HOST", "").strip()
        if not host:
            return None
        port_text = environ.get("FLOWSYNC_SMTP_PORT", "").strip() or "587"
        try:
            port = int(port_text)
        except ValueError:
            port = -1
        if not 0 < port < 65536:
            raise ConfigError(f"FLOWSYNC_SMTP_PORT: expected a port number, got {port_text!r}")
        starttls_text = environ.get("FLOWSYNC_SMTP_STARTTLS", "").strip().lower()
        starttls: bool | None
        if starttls_text in ("", "auto"):
            starttls = None
        elif starttls_text in ("1", "true", "yes", "on"):
            starttls = True
        elif starttls_text in ("0", "false", "no", "off"):
            starttls = False
        else:
            raise ConfigError(
                f"FLOWSYNC_SMTP_STARTTLS: expected true, false or auto, got {starttls_text!r}"
            )
        return cls(
            host=host,
            port=port,
            username=environ.get("FLOWSYNC_SMTP_USERNAME") or None,
            password=environ.get("FLOWSYNC_SMTP_PASSWORD") or None,
            starttls=starttls,
            sender=environ.get("FLOWSYNC_SMTP_SENDER") or None,
        )


@dataclass(kw_only=True)
class Resources:
    """What actions share within one worker process."""

    http: httpx.AsyncClient
    env: Mapping[str, str] = field(default_factory=dict)
    """Whitelisted environment values, visible to expressions as `env`."""
    smtp: SmtpSettings | None = None
    now: Callable[[], datetime] = utc_now
    """A timezone-aware UTC clock; tests replace it."""
    db: asyncpg.Pool[Any] | None = None
    """The worker's database pool, for actions that write to the same database (pgmq_send)."""


@dataclass(kw_only=True)
class StepContext:
    """Everything an action knows about the step it runs."""

    execution_id: uuid.UUID
    workflow: str
    version: int
    node_id: str
    node_type: str
    step_id: int
    attempt: int
    """1-based number of this attempt."""
    max_attempts: int
    config: dict[str, Any]
    """The node's raw config from the definition (templates not rendered)."""
    input: Any
    steps: dict[str, Any]
    """`{"<node_id>": {"output": <json>}}` for the upstream nodes."""
    state: dict[str, Any] | None = None
    """What a previous Snooze of this step saved."""
    timeout: float | None = None
    """The node's timeout in seconds (the worker enforces it as well)."""
    log: StepLogger = field(default_factory=StepLogger)
    resources: Resources

    @property
    def idempotency_key(self) -> str:
        """Stable across attempts, so a remote can drop a repeated effect."""
        return f"{self.execution_id}:{self.node_id}"

    def variables(self) -> dict[str, Any]:
        """What expressions and templates can read."""
        return {
            "input": self.input,
            "steps": self.steps,
            "execution": {
                "id": str(self.execution_id),
                "workflow": self.workflow,
                "version": self.version,
                "node": self.node_id,
                "attempt": self.attempt,
            },
            "env": dict(self.resources.env),
        }

    def render(self, value: Any, *, field: str | None = None) -> Any:
        """Render the templates in a value. A template that fails here fails the same way
        on every attempt, so it is a PermanentError (naming `config.<field>` when given)."""
        try:
            return render(value, self.variables())
        except ExpressionError as exc:
            where = f"config.{field}: " if field else ""
            raise PermanentError(f"{where}{exc.message}") from None


_NODE_TYPE_OF = {config_type: name for name, config_type in CONFIG_TYPES.items()}


def load_config(ctx: StepContext, kind: type[_Config]) -> _Config:
    """The step's config as its typed struct. Definitions are validated when written, so a
    bad config here means a definition bypassed validation: not worth retrying."""
    # By the struct, not ctx.node_type: a built-in may also be registered under a custom name.
    node_type = _NODE_TYPE_OF[kind]
    try:
        config = decode_config(node_type, ctx.config)
    except (msgspec.ValidationError, ValueError) as exc:
        raise PermanentError(f"invalid {node_type} config: {exc}") from None
    assert isinstance(config, kind)
    return config


def as_action_error(exc: Exception) -> ActionError:
    """Any exception an action raised, as an ActionError. Unexpected ones are retryable: a
    transient fault or a bug a deploy fixes; the retry budget still bounds them."""
    if isinstance(exc, ActionError):
        return exc
    text = str(exc)
    message = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return RetryableError(
        message, details={"exception": f"{type(exc).__module__}.{type(exc).__qualname__}"}
    )


def normalize_result(result: Any) -> Completion | Snooze:
    """What an action returned, as a Completion (plain values are the output) or a Snooze.

    Output must be JSON: datetimes, UUIDs, structs and the like become their JSON form; any
    other type fails the step for good (the action would return it again on retry).
    """
    if isinstance(result, Snooze):
        if result.until.tzinfo is None:
            raise PermanentError("Snooze.until must be timezone-aware")
        return result
    completion = result if isinstance(result, Completion) else Completion(output=result)
    try:
        return Completion(
            output=msgspec.to_builtins(completion.output, str_keys=True),
            outcome=msgspec.to_builtins(completion.outcome, str_keys=True),
        )
    except TypeError as exc:
        raise PermanentError(f"the action returned a value that is not JSON: {exc}") from None


def to_text(value: Any) -> str:
    """A rendered value as header, subject or body text: strings as they are, else JSON."""
    if isinstance(value, str):
        return value
    return msgspec.json.encode(value, enc_hook=str).decode()


Action = Callable[[StepContext], Awaitable[Any]]
"""An action: returns JSON output, a Completion or a Snooze; raises ActionError to fail
(any other exception counts as retryable)."""
