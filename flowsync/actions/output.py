"""The internal `output` action: evaluate a workflow's declared output mapping at the end."""

from __future__ import annotations

from typing import Any

from flowsync.actions.base import PermanentError, StepContext
from flowsync.expressions import ExpressionError, evaluate

__all__ = ["output_mapping"]


async def output_mapping(ctx: StepContext) -> dict[str, Any]:
    """`{key: value of expression}` for the workflow's `output`; the execution's output."""
    mapping: dict[str, str] = ctx.config.get("mapping", {})
    variables = ctx.variables()
    result: dict[str, Any] = {}
    for key, expr in mapping.items():
        try:
            result[key] = evaluate(expr, variables)
        except ExpressionError as exc:
            raise PermanentError(f"output.{key}: {exc.message}") from None
    return result
