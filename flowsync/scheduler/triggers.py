"""Duties the triggers package implements: fire due cron and interval ticks, match pending
events against event triggers, consume pgmq queues. Each is safe to repeat: a fire is unique
per trigger and dedupe key (the tick, the event id, the message id)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from flowsync.log import get_logger
from flowsync.pgmq import consume_pgmq_triggers
from flowsync.scheduler.duty import Duty, Pool
from flowsync.triggers import fire_due_cron_triggers, process_pending_events

log = get_logger("flowsync.scheduler")

# (pool) -> executions started
StartExecutions = Callable[[Pool], Awaitable[int]]


class TriggerDuty:
    def __init__(self, name: str, start: StartExecutions, every: float) -> None:
        self.name = name
        self.every = every
        self._start = start

    async def run(self, pool: Pool) -> int:
        started = await self._start(pool)
        if started:
            log.info("scheduler.triggers_fired", duty=self.name, executions=started)
        return started


def trigger_duties(every: float) -> list[Duty]:
    return [
        TriggerDuty("cron", fire_due_cron_triggers, every),
        TriggerDuty("events", process_pending_events, every),
        TriggerDuty("pgmq", consume_pgmq_triggers, every),
    ]
