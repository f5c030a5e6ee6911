"""The `condition` action: evaluate `expr`; its bool or string value is the branch outcome."""

from __future__ import annotations

from flowsync.actions.base import Completion, PermanentError, StepContext, load_config
from flowsync.definition.configs import ConditionConfig
from flowsync.expressions import ExpressionError, evaluate

__all__ = ["condition"]


async def condition(ctx: StepContext) -> Completion:
    """Dependents select the outcome with `when`: true/false, or a string for a switch."""
    config = load_config(ctx, ConditionConfig)
    try:
        value = evaluate(config.expr, ctx.variables())
    except ExpressionError as exc:
        # Upstream outputs are fixed, so the same error would come back on every attempt.
        raise PermanentError(f"config.expr: {exc.message}") from None
    if not isinstance(value, bool | str):
        raise PermanentError(
            f'config.expr: "{config.expr}" gave {type(value).__name__} {value!r}; '
            "a condition must give a bool or a string"
        )
    ctx.log.info("condition.evaluated", outcome=value)
    return Completion(output={"outcome": value}, outcome=value)
