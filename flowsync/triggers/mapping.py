"""Filter and input-mapping expressions of triggers: which names they read, and evaluating them.

Both are CEL (flowsync.expressions). What they can read depends on the trigger's kind:

| kind    | names                                                                       |
| ------- | --------------------------------------------------------------------------- |
| webhook | `body` (the JSON body; the raw text when not JSON), `headers` (lower-case   |
|         | names to values), `trigger`                                                 |
| event   | `event` (`{type, id, payload, emitted_at}`), `payload`, `trigger`           |
| cron    | `payload` (`{scheduled_for}`: the tick, RFC 3339 UTC), `trigger`            |
| pgmq    | `payload` (the message), `message` (`{msg_id, read_ct, enqueued_at,         |
|         | headers}`), `trigger`                                                       |

`trigger` is `{id, kind, workflow}`. A filter must return a bool; a filter that fails to
evaluate (a missing key, say) does not match. Without an input mapping the execution input
is the body / payload as is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from flowsync.expressions import ExpressionError, compile_expression

__all__ = [
    "VARIABLES_BY_KIND",
    "MappingError",
    "build_input",
    "check_expression",
    "evaluate_filter",
]

VARIABLES_BY_KIND: Mapping[str, tuple[str, ...]] = {
    "webhook": ("body", "headers", "trigger"),
    "event": ("event", "payload", "trigger"),
    "cron": ("payload", "trigger"),
    "pgmq": ("payload", "message", "trigger"),
}


class MappingError(ValueError):
    """An input mapping that failed on this payload; the message is for users."""


def check_expression(source: Any, kind: str) -> str | None:
    """Why `source` is not a usable expression for triggers of `kind`, or None if it is."""
    if not isinstance(source, str):
        return f"expected a CEL expression (a string), got {type(source).__name__}"
    try:
        compiled = compile_expression(source)
    except ExpressionError as exc:
        return exc.message
    allowed = VARIABLES_BY_KIND[kind]
    unknown = sorted(compiled.variables - set(allowed))
    if unknown:
        names = ", ".join(f'"{name}"' for name in unknown)
        return f"unknown variable {names}; a {kind} trigger's expressions read: " + ", ".join(
            allowed
        )
    return None


def evaluate_filter(source: str | None, variables: Mapping[str, Any]) -> tuple[bool, str | None]:
    """(matched, why not). No filter matches everything."""
    if source is None:
        return True, None
    try:
        result = compile_expression(source).evaluate(variables)
    except ExpressionError as exc:
        return False, exc.message
    if not isinstance(result, bool):
        return False, f"the filter returned {type(result).__name__}, not a bool"
    return result, None if result else "the filter returned false"


def build_input(mapping: str | None, variables: Mapping[str, Any], default: Any) -> Any:
    """The execution input: the mapping's value as JSON, or `default` without a mapping."""
    if mapping is None:
        return default
    try:
        value = compile_expression(mapping).evaluate(variables)
    except ExpressionError as exc:
        raise MappingError(f"input_mapping: {exc.message}") from None
    try:
        # CEL may return timestamps, durations or bytes: store them as JSON does.
        return msgspec.json.decode(msgspec.json.encode(value, enc_hook=str))
    except (TypeError, msgspec.EncodeError) as exc:
        raise MappingError(f"input_mapping: the result is not JSON: {exc}") from None
