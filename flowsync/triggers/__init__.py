"""Triggers: what starts executions besides a direct call (webhooks, cron, events, pgmq).

The leader-only duties the scheduler runs each tick are `fire_due_cron_triggers` and
`process_pending_events` (and `flowsync.pgmq.consume_pgmq_triggers` with the pgmq extra).
"""

from flowsync.triggers.cron import fire_due_cron_triggers
from flowsync.triggers.events import process_pending_events

__all__ = ["fire_due_cron_triggers", "process_pending_events"]
