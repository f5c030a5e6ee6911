"""The `noop` action: do nothing and output None (a join point or a placeholder)."""

from __future__ import annotations

from flowsync.actions.base import StepContext, load_config
from flowsync.definition.configs import NoopConfig

__all__ = ["noop"]


async def noop(ctx: StepContext) -> None:
    """Checks the (empty) config, so a stray field still fails loudly."""
    load_config(ctx, NoopConfig)
