"""The `pgmq_send` action: send a step's result to a PGMQ queue (the `flowsync[pgmq]` extra).

The message is `config.message` (templates rendered) or, by default, the output of the
upstream step (an object of outputs by node id when there are several). Its PGMQ headers carry
`idempotency_key` (`<execution_id>:<node_id>`, the same on every attempt): sending is
at-least-once, so consumers drop repeats by that key. The output is `{queue, msg_id}`.

It sends through the worker's own connection pool (`Resources.db`), in the database the
worker runs against.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from msgspec import UNSET

from flowsync.actions.base import PermanentError, RetryableError, StepContext, load_config
from flowsync.definition.configs import PgmqSendConfig
from flowsync.store import triggers as trigger_store

__all__ = ["pgmq_send"]


def _default_message(ctx: StepContext) -> Any:
    outputs = {node: step.get("output") for node, step in ctx.steps.items()}
    if len(outputs) == 1:
        return next(iter(outputs.values()))
    return outputs


async def pgmq_send(ctx: StepContext) -> dict[str, Any]:
    config = load_config(ctx, PgmqSendConfig)
    message = (
        _default_message(ctx)
        if config.message is UNSET
        else ctx.render(config.message, field="message")
    )
    headers = {
        "idempotency_key": ctx.idempotency_key,
        "execution_id": str(ctx.execution_id),
        "workflow": ctx.workflow,
        "node_id": ctx.node_id,
    }
    pool = ctx.resources.db
    if pool is None:
        raise PermanentError("pgmq_send needs a worker database pool (Resources.db)")
    try:
        msg_id = await trigger_store.pgmq_send(pool, config.queue, message, headers)
    except asyncpg.UndefinedFunctionError:
        raise PermanentError(
            "pgmq is not installed in this database: run `flowsync triggers install-pgmq`"
        ) from None
    except asyncpg.PostgresError as exc:
        if "does not exist" in str(exc):
            raise PermanentError(f"pgmq queue {config.queue!r}: {exc}") from None
        raise RetryableError(f"pgmq send failed: {exc}") from None
    ctx.log.info("pgmq.sent", queue=config.queue, msg_id=msg_id)
    return {"queue": config.queue, "msg_id": msg_id}
