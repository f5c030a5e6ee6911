"""Request and response bodies of /executions and /dead-letters, and parsing of their inputs."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar
from uuid import UUID

import msgspec

from flowsync.api.pagination import decode_cursor, encode_cursor
from flowsync.api.problems import ApiProblem, FieldError
from flowsync.db import has_nul_escape
from flowsync.states import EXECUTION_STATUSES

MAX_VERSION = 2**31 - 1
MAX_BIGINT = 2**63 - 1
MAX_REASON_CHARS = 1000
MAX_INPUT_BYTES = 256 * 1024
MAX_IDEMPOTENCY_KEY = 255
MAX_BATCH = 1000

T = TypeVar("T")
K = TypeVar("K", UUID, int)


class StartExecutionIn(msgspec.Struct, forbid_unknown_fields=True):
    """Start an execution: the workflow's input, and a pinned version (default: latest)."""

    input: Any = msgspec.field(default_factory=dict)
    version: Annotated[int, msgspec.Meta(ge=1, le=MAX_VERSION)] | None = None


IdempotencyKeyText = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_IDEMPOTENCY_KEY)]


class StartExecutionsIn(msgspec.Struct, forbid_unknown_fields=True):
    """Start up to MAX_BATCH executions of one workflow in one statement, one per input.
    `idempotency_keys`, when given, has one entry per input (null for none); each works as the
    Idempotency-Key header of a single start. An item whose key an earlier item of the batch
    has, with the same input, answers that item's execution."""

    workflow: str
    inputs: Annotated[list[Any], msgspec.Meta(max_length=MAX_BATCH)]
    idempotency_keys: (
        Annotated[list[IdempotencyKeyText | None], msgspec.Meta(max_length=MAX_BATCH)] | None
    ) = None
    version: Annotated[int, msgspec.Meta(ge=1, le=MAX_VERSION)] | None = None


class CancelIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(max_length=MAX_REASON_CHARS)] | None = None


class ExecutionStarted(msgspec.Struct):
    id: UUID
    workflow: str
    version: int
    status: str
    created: bool


class ExecutionsStarted(msgspec.Struct):
    """One item per input, in input order."""

    items: list[ExecutionStarted]


class ExecutionOut(msgspec.Struct):
    id: UUID
    workflow: str
    version: int
    status: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    idempotency_key: str | None


class ExecutionPage(msgspec.Struct):
    items: list[ExecutionOut]
    next_cursor: str | None


class StepOut(msgspec.Struct):
    id: int
    node_id: str
    status: str
    attempts: int
    output: Any
    error: Any
    queued_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    run_at: datetime | None
    worker_id: str | None


class ExecutionDetailOut(ExecutionOut):
    """An execution with its input, result and steps."""

    input: Any
    output: Any
    error: Any
    steps: list[StepOut]


class TimelineItem(msgspec.Struct):
    at: datetime
    event: str
    node_id: str | None
    attempt: int | None
    detail: Any


class Timeline(msgspec.Struct):
    items: list[TimelineItem]


class LogLine(msgspec.Struct):
    id: int
    attempt: int
    at: datetime
    level: str
    message: str
    fields: dict[str, Any]


class LogPage(msgspec.Struct):
    items: list[LogLine]
    next_cursor: str | None


class ExecutionState(msgspec.Struct):
    id: UUID
    status: str


class DeadLetterOut(msgspec.Struct):
    step_id: int
    execution_id: UUID
    workflow: str
    node_id: str
    status: str
    attempts: int
    error: Any
    finished_at: datetime


class DeadLetterPage(msgspec.Struct):
    items: list[DeadLetterOut]
    next_cursor: str | None


class Replayed(msgspec.Struct):
    execution_id: UUID
    step_id: int
    status: str


# -- parsing of request values ---------------------------------------------------------------

_AT = re.compile(r"^(.*) - at `\$(.*)`$", re.DOTALL)
# (the field a message names belongs at the path: an unknown one, or a required one missing)
_NAMED_FIELD = re.compile(r"(?:unknown|missing required) field `(.*)`")


def bad_request(detail: str, path: str, message: str) -> ApiProblem:
    return ApiProblem(400, "Bad Request", detail, errors=[FieldError(path, message)])


def decode_body(body: bytes, kind: type[T]) -> T:
    """The JSON body as `kind`; 400 naming the field for anything else."""
    try:
        return msgspec.json.decode(body, type=kind)
    except msgspec.ValidationError as exc:
        message = str(exc)
        path = ""
        if found := _AT.match(message):
            message, path = found[1], found[2].lstrip(".")
        if named := _NAMED_FIELD.search(message):
            path = f"{path}.{named[1]}" if path else named[1]
        raise bad_request("the request body is invalid", path or "$", message) from None
    except (msgspec.DecodeError, RecursionError) as exc:
        raise bad_request("the request body is not valid JSON", "$", str(exc)) from None


def encoded_input(value: Any, path: str = "input") -> bytes:
    """`value` as stored (compact JSON); refuses what Postgres cannot store."""
    encoded = msgspec.json.encode(value)
    if has_nul_escape(encoded):
        raise bad_request("JSON strings may not contain NUL characters", path, "contains \\u0000")
    return encoded


def check_input_size(value: Any, path: str) -> None:
    """413 for an input larger than an execution may have; 400 for a NUL character."""
    size = len(encoded_input(value, path))
    if size > MAX_INPUT_BYTES:
        raise ApiProblem(
            413,
            "Content Too Large",
            f"an execution's input may be at most {MAX_INPUT_BYTES} bytes as JSON; "
            f"{path} has {size}",
        )


def check_batch(params: StartExecutionsIn) -> None:
    """What decoding cannot check: NUL characters, input sizes, one key per input."""
    check_text(params.workflow, "workflow")
    for i, value in enumerate(params.inputs):
        check_input_size(value, f"inputs[{i}]")
    keys = params.idempotency_keys
    if keys is None:
        return
    if len(keys) != len(params.inputs):
        raise bad_request(
            "idempotency_keys needs one entry per input (null for none)",
            "idempotency_keys",
            f"{len(keys)} given for {len(params.inputs)} inputs",
        )
    for i, key in enumerate(keys):
        if key is not None:
            check_text(key, f"idempotency_keys[{i}]")


def check_text(value: str, path: str) -> str:
    """`value` if Postgres can store it as text (no NUL characters)."""
    if "\x00" in value:
        raise bad_request(f"{path} is invalid", path, "must not contain NUL characters")
    return value


def parse_uuid(value: str, path: str, what: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise bad_request(f"{what} ids are UUIDs", path, f"not a UUID: {value!r}") from None


def parse_timestamp(value: str | None, path: str) -> datetime | None:
    """An RFC 3339 timestamp with an offset (e.g. 2030-01-01T12:00:00Z), in UTC."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise ValueError("no offset")
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise bad_request(
            f"{path} must be an RFC 3339 timestamp",
            path,
            f"expected an RFC 3339 timestamp with an offset (e.g. 2030-01-01T12:00:00Z), "
            f"got {value!r}",
        ) from None


def check_status(value: str | None) -> str | None:
    if value is not None and value not in EXECUTION_STATUSES:
        allowed = ", ".join(EXECUTION_STATUSES)
        raise bad_request(
            f"status must be one of {allowed}",
            "query.status",
            f"unknown status {value!r}; allowed: {allowed}",
        )
    return value


def encode_keyset(at: datetime, key: UUID | int) -> str:
    """An opaque cursor for a (timestamp, id) position in a newest-first listing."""
    return encode_cursor(f"{at.isoformat()}|{key}")


def decode_keyset(cursor: str | None, key: Callable[[str], K]) -> tuple[datetime, K] | None:
    raw = decode_cursor(cursor, str)
    if raw is None:
        return None
    try:
        at_text, _, key_text = raw.partition("|")
        at = datetime.fromisoformat(at_text)
        if at.tzinfo is None:
            raise ValueError("no offset")
        value = key(key_text)
        if isinstance(value, int) and not 0 <= value <= MAX_BIGINT:
            raise ValueError("out of range")
        return at.astimezone(UTC), value
    except (ValueError, OverflowError):
        raise bad_request(
            "the cursor is not one this API handed out", "query.cursor", "invalid cursor"
        ) from None
