"""The config of each built-in node type, and checking any node's config (templates included)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Annotated, Any, ClassVar, Literal

import msgspec
from msgspec import UNSET, Meta

from flowsync.definition.durations import DurationError, parse_duration
from flowsync.definition.model import (
    Duration,
    ValidationIssue,
    check_value,
    join_path,
    struct_fields,
)
from flowsync.expressions import VARIABLES, ExpressionError, compile_expression, compile_template

__all__ = [
    "BUILTIN_NODE_TYPES",
    "CONFIG_TYPES",
    "CUSTOM_TYPE_PATTERN",
    "ConditionConfig",
    "DelayConfig",
    "EchoConfig",
    "EmailConfig",
    "HttpConfig",
    "NodeConfig",
    "NoopConfig",
    "PgmqSendConfig",
    "TransformConfig",
    "WebhookConfig",
    "check_config",
    "check_expression",
    "check_templates",
    "decode_config",
    "is_custom_type",
]

CUSTOM_TYPE_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$"
_CUSTOM_TYPE = re.compile(CUSTOM_TYPE_PATTERN)

Template = Annotated[
    str, Meta(description='Text with "{{ expr }}" placeholders (CEL expressions).')
]
Expression = Annotated[
    str, Meta(description="A CEL expression over input, steps, execution and env.")
]
HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]


class NodeConfig(
    msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True, frozen=True, kw_only=True
):
    """Base of the built-in configs. The class variables say which fields hold templates
    (strings rendered with "{{ expr }}", searched inside JSON), durations and expressions."""

    templates: ClassVar[tuple[str, ...]] = ()
    durations: ClassVar[tuple[str, ...]] = ()
    expressions: ClassVar[tuple[str, ...]] = ()

    def problems(self) -> list[tuple[str, str]]:
        """Rules across fields, as (field, message) pairs."""
        return []


class HttpConfig(NodeConfig, frozen=True, kw_only=True):
    """Call an HTTP endpoint. Send either `json` (strings inside are templates) or `body`."""

    templates = ("url", "headers", "query", "json", "body")
    durations = ("timeout",)

    method: HttpMethod = "GET"
    url: Template
    headers: dict[str, Template] = {}
    query: dict[str, Template | int | float | bool] = {}
    json: Any = UNSET
    body: Template | None = None
    timeout: Duration | None = None
    retry_on_status: list[Annotated[int, Meta(ge=100, le=599)]] | None = None
    max_response_bytes: Annotated[int, Meta(ge=1)] | None = None

    def problems(self) -> list[tuple[str, str]]:
        if self.json is not UNSET and self.body is not None:
            return [("body", 'set either "json" or "body", not both')]
        return []


class WebhookConfig(NodeConfig, frozen=True):
    """Send an outgoing webhook: POST `payload` as JSON, signed with `secret` when set."""

    templates = ("url", "payload", "headers", "secret")
    durations = ("timeout",)

    url: Template
    payload: Any = UNSET
    headers: dict[str, Template] = {}
    secret: Template | None = None
    timeout: Duration | None = None


class EmailConfig(NodeConfig, frozen=True):
    """Send an email to one or more recipients."""

    templates = ("to", "subject", "body", "from_")

    to: Annotated[list[Template], Meta(extra_json_schema={"minItems": 1})]
    subject: Template = ""
    body: Template = ""
    from_: Template | None = msgspec.field(name="from", default=None)

    def problems(self) -> list[tuple[str, str]]:
        return [] if self.to else [("to", "at least one recipient is required")]


class DelayConfig(NodeConfig, frozen=True):
    """Wait for `duration`, or until `until` (a template giving an RFC 3339 timestamp)."""

    templates = ("until",)
    durations = ("duration",)

    duration: Duration | None = None
    until: Template | None = None

    def problems(self) -> list[tuple[str, str]]:
        if (self.duration is None) == (self.until is None):
            return [("", 'set exactly one of "duration" or "until"')]
        return []


class ConditionConfig(NodeConfig, frozen=True):
    """Branch: the value of `expr` (a bool, or a string for switch-style branching) is the
    outcome that dependents select with `when`."""

    expressions = ("expr",)

    expr: Expression


class TransformConfig(NodeConfig, frozen=True):
    """Output `value` with its templates rendered."""

    templates = ("value",)

    value: Any


class NoopConfig(NodeConfig, frozen=True):
    """Do nothing (a join point or a placeholder)."""


class EchoConfig(NodeConfig, frozen=True):
    """Output `value` (templates rendered); handy for tests and debugging."""

    templates = ("value",)

    value: Any = None


class PgmqSendConfig(NodeConfig, frozen=True):
    """Send `message` (templates rendered; default: the upstream step's output) to a PGMQ
    queue (needs the pgmq extra and PGMQ installed in the database)."""

    templates = ("message",)

    queue: Annotated[str, Meta(pattern=r"^[a-z0-9_]{1,47}$")]
    message: Any = UNSET


CONFIG_TYPES: Mapping[str, type[NodeConfig]] = {
    "http": HttpConfig,
    "webhook": WebhookConfig,
    "email": EmailConfig,
    "delay": DelayConfig,
    "condition": ConditionConfig,
    "transform": TransformConfig,
    "noop": NoopConfig,
    "echo": EchoConfig,
    "pgmq_send": PgmqSendConfig,
}
BUILTIN_NODE_TYPES = frozenset(CONFIG_TYPES)


def is_custom_type(node_type: str) -> bool:
    """A dotted name such as `billing.charge` is a custom action registered by a worker."""
    return bool(_CUSTOM_TYPE.match(node_type))


def decode_config(node_type: str, config: Mapping[str, Any]) -> NodeConfig | dict[str, Any]:
    """The typed config of a built-in node (msgspec.ValidationError if bad), or a custom
    action's config dict as is."""
    config_type = CONFIG_TYPES.get(node_type)
    if config_type is not None:
        return msgspec.convert(dict(config), config_type)
    if is_custom_type(node_type):
        return dict(config)
    raise ValueError(f"unknown node type {node_type!r}")


def check_config(
    node_type: str, config: dict[str, Any], path: str, issues: list[ValidationIssue]
) -> dict[str, Any]:
    """Check a known node type's config; return it normalised (defaults left out)."""
    config_type = CONFIG_TYPES.get(node_type)
    if config_type is None:  # a custom action: free-form JSON whose strings are templates
        check_templates(config, path, issues)
        return config
    typed_ok = check_value(config, config_type, path, issues)
    # Templates, durations and expressions are checked even when other fields are wrong.
    names = {field.name: name for name, field in struct_fields(config_type).items()}
    for field in config_type.templates:
        if names[field] in config:
            check_templates(config[names[field]], join_path(path, names[field]), issues)
    for field in config_type.durations:
        if isinstance(text := config.get(names[field]), str):
            where = join_path(path, names[field])
            check_duration(text, where, issues, positive=field == "timeout")
    for field in config_type.expressions:
        if isinstance(source := config.get(names[field]), str):
            check_expression(source, join_path(path, names[field]), issues)
    if not typed_ok:
        return config
    typed = msgspec.convert(config, config_type)
    for field, message in typed.problems():
        issues.append(ValidationIssue(join_path(path, names[field]) if field else path, message))
    normalised: dict[str, Any] = msgspec.to_builtins(typed)
    return normalised


def check_duration(
    text: str, path: str, issues: list[ValidationIssue], *, positive: bool = False
) -> timedelta | None:
    """Parse a duration, recording an issue (and returning None) when it is bad."""
    try:
        value = parse_duration(text)
    except DurationError as exc:
        issues.append(ValidationIssue(path, str(exc)))
        return None
    if positive and not value:
        issues.append(ValidationIssue(path, "must be longer than zero"))
        return None
    return value


def check_expression(source: str, path: str, issues: list[ValidationIssue]) -> None:
    """Compile a CEL expression, recording syntax errors and unknown variables."""
    try:
        compiled = compile_expression(source)
    except ExpressionError as exc:
        issues.append(ValidationIssue(path, exc.message))
        return
    _check_variables(compiled.variables, path, issues)


def check_templates(value: Any, path: str, issues: list[ValidationIssue]) -> None:
    """Compile every template string inside a JSON value (iteratively: JSON can nest deep)."""
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            if "{{" not in item:
                continue
            try:
                template = compile_template(item)
            except ExpressionError as exc:
                issues.append(ValidationIssue(where, exc.message))
                continue
            _check_variables(template.variables, where, issues)
        elif isinstance(item, dict):
            stack.extend((v, join_path(where, k)) for k, v in reversed(item.items()))
        elif isinstance(item, list):
            stack.extend((v, join_path(where, i)) for i, v in reversed(list(enumerate(item))))


def _check_variables(names: frozenset[str], path: str, issues: list[ValidationIssue]) -> None:
    for name in sorted(names - VARIABLES):
        known = ", ".join(sorted(VARIABLES))
        issues.append(
            ValidationIssue(path, f'unknown variable "{name}" (expressions can read {known})')
        )
