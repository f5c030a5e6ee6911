"""The `echo` action: output `value` (templates rendered), or None when unset."""

from __future__ import annotations

from typing import Any

from flowsync.actions.base import StepContext, load_config
from flowsync.definition.configs import EchoConfig

__all__ = ["echo"]


async def echo(ctx: StepContext) -> Any:
    """Handy for tests and debugging: shows what templates render to at run time."""
    config = load_config(ctx, EchoConfig)
    return ctx.render(config.value, field="value")
