"""The workflow definition format as msgspec structs, its canonical JSON and resolved settings."""

from __future__ import annotations

import difflib
import functools
import hashlib
import json
import re
import types
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import msgspec
from msgspec import UNSET, Meta, UnsetType

from flowsync.definition.durations import DURATION_PATTERN, parse_duration

__all__ = [
    "DEFAULT_QUEUE",
    "DEFAULT_RETRY",
    "MAX_DEFINITION_BYTES",
    "MAX_NODES",
    "NAME_PATTERN",
    "NODE_ID_PATTERN",
    "QUEUE_PATTERN",
    "Defaults",
    "DefinitionError",
    "Dependency",
    "Duration",
    "JoinRule",
    "Node",
    "RetryPolicy",
    "RetrySettings",
    "ValidationIssue",
    "WorkflowDefinition",
    "canonical_json",
    "check_value",
    "definition_checksum",
    "join_path",
    "resolve_retry",
    "struct_fields",
]

MAX_NODES = 1000
MAX_DEFINITION_BYTES = 1_048_576
NAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,99}$"
NODE_ID_PATTERN = r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$"
QUEUE_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,62}$"
DEFAULT_QUEUE = "default"

JoinRule = Literal["all_success", "one_success", "all_done", "none_failed"]
Backoff = Literal["exponential", "fixed"]

Duration = Annotated[
    str,
    Meta(
        description='A duration: whole numbers with units d, h, m, s, ms, largest first ("1h30m").',
        examples=["500ms", "30s", "10m", "1h30m", "2d"],
        extra_json_schema={"pattern": DURATION_PATTERN, "minLength": 1},
    ),
]
QueueName = Annotated[
    str,
    Meta(
        description="The queue workers claim steps from.",
        extra_json_schema={"pattern": QUEUE_PATTERN},
    ),
]


class ValidationIssue(msgspec.Struct, frozen=True):
    """One problem in a definition: where it is (`nodes[3].depends_on[0]`) and what is wrong."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class DefinitionError(ValueError):
    """A definition that failed validation; `issues` lists every problem found."""

    def __init__(self, issues: list[ValidationIssue]) -> None:
        self.issues = list(issues)
        shown = "; ".join(str(issue) for issue in self.issues[:10])
        more = f"; and {len(self.issues) - 10} more" if len(self.issues) > 10 else ""
        count = f"{len(self.issues)} issue{'s' if len(self.issues) != 1 else ''}"
        super().__init__(f"invalid workflow definition ({count}): {shown}{more}")


class _Strict(
    msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True, frozen=True, kw_only=True
):
    """Base of every definition struct: unknown fields are errors, defaults are not written."""


class Dependency(_Strict, frozen=True):
    """An upstream node, optionally only when a condition node produced the outcome `when`."""

    node: str
    when: bool | str | None = None


class RetryPolicy(_Strict, frozen=True):
    """How a failed step is retried. Unset fields come from `defaults.retry`, then built-ins
    (3 attempts, exponential backoff from 1s up to 5m, with jitter)."""

    max_attempts: Annotated[int, Meta(ge=1, le=100)] | UnsetType = UNSET
    backoff: Backoff | UnsetType = UNSET
    initial: Duration | UnsetType = UNSET
    max: Duration | UnsetType = UNSET
    jitter: bool | UnsetType = UNSET


class Defaults(_Strict, frozen=True):
    """Settings for every node that does not set its own."""

    retry: RetryPolicy | None = None
    timeout: Duration | None = None
    queue: QueueName | None = None


class Node(_Strict, frozen=True):
    """One step of the workflow. `config` depends on `type` (see the per-type config schemas);
    a dotted type such as `billing.charge` names a custom action and takes free-form config."""

    id: Annotated[str, Meta(extra_json_schema={"pattern": NODE_ID_PATTERN})]
    type: str
    depends_on: list[str | Dependency] = []
    config: dict[str, Any] = {}
    join: JoinRule = "all_success"
    retry: RetryPolicy | None = None
    timeout: Duration | None = None
    queue: QueueName | None = None
    continue_on_failure: bool = False
    description: str | None = None

    @property
    def dependencies(self) -> list[Dependency]:
        """`depends_on` with every item as a Dependency."""
        return [Dependency(node=dep) if isinstance(dep, str) else dep for dep in self.depends_on]

    @property
    def upstream(self) -> list[str]:
        """The ids this node depends on, in order."""
        return [dep if isinstance(dep, str) else dep.node for dep in self.depends_on]


class WorkflowDefinition(_Strict, frozen=True, kw_only=True):
    """A workflow: a DAG of nodes, plus defaults and the output computed when it finishes."""

    name: Annotated[
        str, Meta(extra_json_schema={"pattern": NAME_PATTERN, "minLength": 1, "maxLength": 100})
    ]
    description: str | None = None
    defaults: Defaults | None = None
    nodes: Annotated[list[Node], Meta(extra_json_schema={"minItems": 1, "maxItems": MAX_NODES})]
    output: dict[str, str] = {}

    def node(self, node_id: str) -> Node:
        """The node with this id (KeyError if there is none)."""
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)

    def retry_for(self, node: Node) -> RetrySettings:
        """The node's retry settings after applying workflow defaults and built-ins."""
        return resolve_retry(self.defaults.retry if self.defaults else None, node.retry)

    def timeout_for(self, node: Node) -> timedelta | None:
        """The node's step timeout (its own, else the workflow default, else None)."""
        text = node.timeout or (self.defaults.timeout if self.defaults else None)
        return parse_duration(text) if text else None

    def queue_for(self, node: Node) -> str:
        """The queue the node's steps go to."""
        return node.queue or (self.defaults.queue if self.defaults else None) or DEFAULT_QUEUE


@dataclass(frozen=True, slots=True)
class RetrySettings:
    """A fully resolved retry policy."""

    max_attempts: int
    backoff: Backoff
    initial: timedelta
    max: timedelta
    jitter: bool


DEFAULT_RETRY = RetrySettings(
    max_attempts=3,
    backoff="exponential",
    initial=timedelta(seconds=1),
    max=timedelta(minutes=5),
    jitter=True,
)


def resolve_retry(*policies: RetryPolicy | None) -> RetrySettings:
    """Fold retry policies over the built-in defaults; later policies win field by field."""
    result = DEFAULT_RETRY
    for policy in policies:
        if policy is None:
            continue
        result = RetrySettings(
            max_attempts=result.max_attempts
            if isinstance(policy.max_attempts, UnsetType)
            else policy.max_attempts,
            backoff=result.backoff if isinstance(policy.backoff, UnsetType) else policy.backoff,
            initial=result.initial
            if isinstance(policy.initial, UnsetType)
            else parse_duration(policy.initial),
            max=result.max if isinstance(policy.max, UnsetType) else parse_duration(policy.max),
            jitter=result.jitter if isinstance(policy.jitter, UnsetType) else policy.jitter,
        )
    return result


def canonical_json(definition: WorkflowDefinition) -> bytes:
    """Deterministic JSON (sorted keys, defaults omitted): equal definitions give equal bytes."""
    return msgspec.json.encode(definition, order="sorted")


def definition_checksum(definition: WorkflowDefinition) -> str:
    """SHA-256 (hex) of the canonical JSON."""
    return hashlib.sha256(canonical_json(definition)).hexdigest()


# -- decoding that reports every bad field, not just the first one msgspec meets --------------

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_AT = re.compile(r"^(.*) - at `\$(.*)`$", re.DOTALL)
_UNKNOWN_FIELD = re.compile(r"^Object contains unknown field `(.*)`$", re.DOTALL)
_MISSING_FIELD = re.compile(r"^Object missing required field `(.*)`$", re.DOTALL)


def join_path(prefix: str, key: str | int) -> str:
    """`nodes` + 3 -> `nodes[3]`; `config` + `url` -> `config.url`; odd keys are quoted."""
    if isinstance(key, int):
        return f"{prefix}[{key}]"
    if _IDENTIFIER.match(key):
        return f"{prefix}.{key}" if prefix else key
    return f"{prefix}[{json.dumps(key)}]"


def check_value(value: Any, tp: Any, path: str, issues: list[ValidationIssue]) -> bool:
    """Check value against tp like msgspec.convert, recording every problem in issues."""
    try:
        msgspec.convert(value, tp)
        return True
    except msgspec.ValidationError as exc:
        error = exc
    # Something is wrong: look inside so that each bad field gets its own issue.
    before = len(issues)
    struct_type = _struct_in(tp)
    inner, _ = _strip(tp)
    origin, args = get_origin(inner), get_args(inner)
    if struct_type is not None and isinstance(value, dict):
        _check_struct(value, struct_type, path, issues)
    elif origin is list and isinstance(value, list):
        for i, item in enumerate(value):
            check_value(item, args[0], join_path(path, i), issues)
    elif origin is dict and isinstance(value, dict) and args[0] is str:
        for key, item in value.items():
            check_value(item, args[1], join_path(path, key), issues)
    if len(issues) == before:  # the problem is the value as a whole (a type, a length)
        issues.append(_issue_for(error, tp, value, path))
    return False


def _check_struct(
    value: dict[str, Any],
    struct_type: type[msgspec.Struct],
    path: str,
    issues: list[ValidationIssue],
) -> None:
    fields = struct_fields(struct_type)
    for key, item in value.items():  # in document order
        field = fields.get(key)
        if field is None:
            issues.append(ValidationIssue(join_path(path, key), _unknown_field(key, list(fields))))
        else:
            check_value(item, field.type, join_path(path, key), issues)
    for name, field in fields.items():
        if field.required and name not in value:
            issues.append(ValidationIssue(join_path(path, name), "required field is missing"))


@functools.cache
def struct_fields(struct_type: type[msgspec.Struct]) -> dict[str, msgspec.structs.FieldInfo]:
    """A struct's fields by JSON name (cached: msgspec re-reads annotations on every call)."""
    return {field.encode_name: field for field in msgspec.structs.fields(struct_type)}


def _unknown_field(key: str, allowed: list[str]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f'did you mean "{close[0]}"? ' if close else ""
    return f'unknown field "{key}" ({hint}allowed: {", ".join(allowed) or "none"})'


def _issue_for(exc: msgspec.ValidationError, tp: Any, value: Any, path: str) -> ValidationIssue:
    text = str(exc)
    match = _AT.match(text)
    message, where = (match.group(1), match.group(2)) if match else (text, "")
    full_path = (path + where).lstrip(".") if where else (path or "$")
    if unknown := _UNKNOWN_FIELD.match(message):
        return ValidationIssue(join_path(full_path, unknown.group(1)), "unknown field")
    if missing := _MISSING_FIELD.match(message):
        return ValidationIssue(join_path(full_path, missing.group(1)), "required field is missing")
    choices = _literal_choices(tp)
    if choices and not where:
        allowed = ", ".join(json.dumps(choice) for choice in choices)
        return ValidationIssue(full_path, f"expected one of {allowed}; got {json.dumps(value)}")
    message = message.replace("`", "")
    return ValidationIssue(full_path, message[:1].lower() + message[1:])


def _strip(tp: Any) -> tuple[Any, bool]:
    """Drop Annotated, None and UnsetType from a type; say whether anything optional was dropped."""
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    if get_origin(tp) in (Union, types.UnionType):
        kept = [arg for arg in get_args(tp) if arg not in (type(None), UnsetType)]
        if len(kept) == 1:
            return _strip(kept[0])[0], True
    return tp, False


def _struct_in(tp: Any) -> type[msgspec.Struct] | None:
    inner, _ = _strip(tp)
    candidates = get_args(inner) if get_origin(inner) in (Union, types.UnionType) else (inner,)
    structs = [c for c in candidates if isinstance(c, type) and issubclass(c, msgspec.Struct)]
    return structs[0] if len(structs) == 1 else None


def _literal_choices(tp: Any) -> tuple[Any, ...]:
    inner, _ = _strip(tp)
    return get_args(inner) if get_origin(inner) is Literal else ()
