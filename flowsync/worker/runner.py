"""Run one claimed step's action and turn whatever happened into a report for report_steps."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec

from flowsync.actions import (
    ActionError,
    Completion,
    PermanentError,
    Registry,
    Resources,
    RetryableError,
    StepContext,
    StepLogger,
    as_action_error,
    normalize_result,
)
from flowsync.db import has_nul_escape
from flowsync.store.engine import StepClaim


def context_for(claim: StepClaim, resources: Resources) -> StepContext:
    return StepContext(
        execution_id=claim.execution_id,
        workflow=claim.workflow,
        version=claim.version,
        node_id=claim.node_id,
        node_type=claim.node_type,
        step_id=claim.step_id,
        attempt=claim.attempt,
        max_attempts=claim.max_attempts,
        config=claim.config,
        input=claim.input,
        steps=claim.upstream,
        state=claim.state,
        timeout=claim.timeout_ms / 1000 if claim.timeout_ms else None,
        log=StepLogger(clock=resources.now),
        resources=resources,
    )


async def run_step(
    claim: StepClaim, registry: Registry, resources: Resources, max_output_bytes: int
) -> msgspec.Raw:
    """The report for one attempt, one the database can store, encoded once: as JSON, ready
    to go into a batch. Cancellation (shutdown, lost lease) propagates."""
    try:
        report = await _attempt(claim, registry, resources, max_output_bytes)
    except Exception as exc:  # (not the action's: those are reports already) a bug of ours
        return _unreportable(claim, f"the worker failed to run it: {type(exc).__name__}")
    try:
        encoded = msgspec.json.encode(report)
    except (TypeError, ValueError) as exc:
        return _unreportable(claim, f"its result is not JSON ({exc})")
    if has_nul_escape(encoded):
        return _unreportable(claim, "its result contains a NUL character (\\u0000)")
    return msgspec.Raw(encoded)


def _unreportable(claim: StepClaim, why: str) -> msgspec.Raw:
    """A permanent failure in place of a report the database would refuse: one bad step
    must not fail its whole batch. Says nothing of the step's own values (they are what
    could not be stored)."""
    error = PermanentError(f"the step's report cannot be stored: {why}")
    report = {
        "step_id": claim.step_id,
        "token": claim.lease_token,
        "kind": "failed",
        "error": error.to_dict(),
        "retryable": False,
        "retry_after_ms": None,
        "logs": [],
    }
    return msgspec.Raw(msgspec.json.encode(report))


async def _attempt(
    claim: StepClaim, registry: Registry, resources: Resources, max_output_bytes: int
) -> dict[str, Any]:
    ctx = context_for(claim, resources)
    # (the token as a UUID: the report's encoder writes it faster than str() does)
    report: dict[str, Any] = {"step_id": claim.step_id, "token": claim.lease_token}
    try:
        action = registry.get(claim.node_type)
    except LookupError as exc:
        # Another worker may have this action loaded: retry under the step's policy.
        return _failed(report, RetryableError(str(exc)), ctx)
    try:
        if ctx.timeout is not None:
            async with asyncio.timeout(ctx.timeout):
                result = normalize_result(await action(ctx))
        else:
            result = normalize_result(await action(ctx))
    except TimeoutError:
        return _failed(report, RetryableError(f"the step timed out after {ctx.timeout:g}s"), ctx)
    except Exception as exc:
        return _failed(report, as_action_error(exc), ctx)

    report["logs"] = _logs(ctx)
    if isinstance(result, Completion):
        output = msgspec.json.encode(result.output)
        if len(output) > max_output_bytes:
            return _failed(
                report,
                PermanentError(
                    f"the step's output is {len(output)} bytes; at most {max_output_bytes} "
                    "are stored (return less, or store it elsewhere and return a reference)"
                ),
                ctx,
            )
        # (encoded once: the report's encoding takes it as it is)
        report |= {"kind": "succeeded", "output": msgspec.Raw(output), "outcome": result.outcome}
    else:
        report |= {"kind": "snoozed", "until": result.until.isoformat(), "state": result.state}
    return report


def _failed(report: dict[str, Any], error: ActionError, ctx: StepContext) -> dict[str, Any]:
    ctx.log.warning("step.attempt_failed", error=error.message, retryable=error.retryable)
    return report | {
        "kind": "failed",
        "error": error.to_dict(),
        "retryable": error.retryable,
        "retry_after_ms": None if error.retry_after is None else int(error.retry_after * 1000),
        "logs": _logs(ctx),
    }


def _logs(ctx: StepContext) -> list[dict[str, Any]]:
    return [
        {
            "at": line.at.isoformat(),
            "level": line.level,
            "message": line.message,
            "fields": line.fields,
        }
        for line in ctx.log.lines
    ]
