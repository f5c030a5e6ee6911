"""The pgmq duty: each message on a pgmq trigger's queue starts exactly one execution.

    one transaction per round, a savepoint per trigger:
      trigger_claim_pgmq (SKIP LOCKED: one consumer per trigger at a time)
        └─ pgmq.read(queue, visibility timeout, batch)
             └─ per message: filter → input mapping → fire_trigger("msg:<queue>:<id>")
        └─ pgmq.archive(the handled messages)
    commit

A consumer killed anywhere before the commit leaves nothing behind: the read (and its
visibility timeout), the fires and the archiving roll back together, and the messages are read
again. A message whose execution could not start (archived workflow) stays in the queue and
comes back after its visibility timeout; one filtered out, or whose mapping fails (recorded as a
failed fire), is archived.
"""

from __future__ import annotations

from datetime import UTC
from typing import TYPE_CHECKING, Any

import asyncpg

from flowsync.definition import parse_duration
from flowsync.log import get_logger
from flowsync.store import triggers as trigger_store
from flowsync.store.triggers import QueueMessage, TriggerRow
from flowsync.triggers.config import PgmqConfig, TriggerConfigError, decode_config
from flowsync.triggers.mapping import MappingError, build_input, evaluate_filter

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    Connection = asyncpg.Connection[Any] | PoolConnectionProxy[Any]

__all__ = ["MAX_ROUNDS", "consume_pgmq_triggers"]

log = get_logger("flowsync.pgmq")

#: Triggers per round, and rounds per call while some queue still returns full batches.
TRIGGERS_PER_ROUND = 100
MAX_ROUNDS = 10


async def consume_pgmq_triggers(pool: asyncpg.Pool[Any]) -> int:
    """Consume one batch per enabled pgmq trigger (more while queues stay full); return the
    number of executions started. Does nothing when PGMQ is not installed."""
    async with pool.acquire() as conn:
        if not await trigger_store.pgmq_installed(conn):
            return 0
    started = 0
    for _ in range(MAX_ROUNDS):
        full = False
        async with pool.acquire() as conn, conn.transaction():
            for trigger in await trigger_store.claim_pgmq_triggers(conn, TRIGGERS_PER_ROUND):
                count, was_full = await _consume(conn, trigger)
                started += count
                full = full or was_full
        if not full:
            break
    return started


async def _consume(conn: Connection, trigger: TriggerRow) -> tuple[int, bool]:
    try:
        config = decode_config("pgmq", trigger.config)
        assert isinstance(config, PgmqConfig)
        visibility = max(int(parse_duration(config.visibility_timeout).total_seconds()), 1)
    except (TriggerConfigError, ValueError) as exc:
        log.error("trigger.pgmq.invalid", trigger_id=str(trigger.id), error=str(exc))
        return 0, False
    try:
        async with conn.transaction():  # a savepoint: one broken queue spoils no other
            messages = await trigger_store.pgmq_read(
                conn, config.queue, visibility, config.batch_size
            )
            started = 0
            done: list[int] = []
            for message in messages:
                outcome = await _fire(conn, trigger, config, message)
                started += outcome == "started"
                if outcome != "retry":
                    done.append(message.msg_id)
            if done:
                await trigger_store.pgmq_archive(conn, config.queue, done)
    except asyncpg.PostgresError as exc:
        log.error(
            "trigger.pgmq.failed", trigger_id=str(trigger.id), queue=config.queue, error=str(exc)
        )
        return 0, False
    return started, len(messages) == config.batch_size


async def _fire(
    conn: Connection, trigger: TriggerRow, config: PgmqConfig, message: QueueMessage
) -> str:
    """'started', 'duplicate', 'skipped' (filtered out), 'failed' (recorded), or 'retry'."""
    variables = {
        "payload": message.message,
        "message": {
            "msg_id": message.msg_id,
            "read_ct": message.read_ct,
            "enqueued_at": message.enqueued_at.astimezone(UTC).isoformat(),
            "headers": message.headers,
        },
        "trigger": {"id": str(trigger.id), "kind": "pgmq", "workflow": trigger.workflow},
    }
    matched, _ = evaluate_filter(config.filter, variables)
    if not matched:
        return "skipped"
    error: str | None = None
    value: Any = None
    try:
        value = build_input(trigger.input_mapping, variables, message.message)
    except MappingError as exc:
        error = str(exc)
    fired = await trigger_store.fire_trigger(
        conn, trigger.id, f"msg:{config.queue}:{message.msg_id}", value, error=error
    )
    if fired.result == "failed" and error is None:
        log.warning(
            "trigger.fire.failed",
            trigger_id=str(trigger.id),
            msg_id=message.msg_id,
            error=fired.error,
        )
        return "retry"
    return fired.result
