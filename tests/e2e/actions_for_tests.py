"""Custom actions the end-to-end tests load into workers with --actions."""

from __future__ import annotations

import asyncio
from typing import Any

from flowsync.actions import PermanentError, StepContext, action


@action("tests.sleep")
async def sleep(ctx: StepContext) -> dict[str, Any]:
    """Sleep config.seconds, logging before and after."""
    seconds = float(ctx.config.get("seconds", 1))
    ctx.log.info("sleeping", seconds=seconds)
    await asyncio.sleep(seconds)
    return {"slept": seconds}


@action("tests.fail_unless")
async def fail_unless(ctx: StepContext) -> dict[str, Any]:
    """Fail for good unless the execution input says `ok`."""
    if not ctx.input.get("ok"):
        raise PermanentError("input.ok is not set", details={"input": ctx.input})
    return {"ok": True}


@action("tests.context")
async def context(ctx: StepContext) -> dict[str, Any]:
    """Return what the action was given, so tests can check the context."""
    ctx.log.info("context seen", node=ctx.node_id)
    return {
        "idempotency_key": ctx.idempotency_key,
        "attempt": ctx.attempt,
        "input": ctx.input,
        "steps": ctx.steps,
    }


_running = 0
_most_running = 0


@action("tests.count_running")
async def count_running(ctx: StepContext) -> dict[str, Any]:
    """Sleep config.seconds; return how many steps of this kind this worker process has
    run at once so far (the most seen)."""
    global _running, _most_running
    _running += 1
    _most_running = max(_most_running, _running)
    try:
        await asyncio.sleep(float(ctx.config.get("seconds", 0.1)))
    finally:
        _running -= 1
    return {"most_running": _most_running}


@action("tests.nul_output")
async def nul_output(ctx: StepContext) -> dict[str, Any]:
    """Return text PostgreSQL cannot store in jsonb (a NUL character)."""
    return {"text": "before\x00after"}
