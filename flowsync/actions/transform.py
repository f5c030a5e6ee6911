"""The `transform` action: output `value` with its templates rendered."""

from __future__ import annotations

from typing import Any

from flowsync.actions.base import StepContext, load_config
from flowsync.definition.configs import TransformConfig

__all__ = ["transform"]


async def transform(ctx: StepContext) -> Any:
    """Reshape upstream outputs into this step's output."""
    config = load_config(ctx, TransformConfig)
    return ctx.render(config.value, field="value")
