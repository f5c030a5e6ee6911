"""Scheduler settings (from CLI flags, FLOWSYNC_RETENTION and FLOWSYNC_DB_COMMAND_TIMEOUT)."""

from __future__ import annotations

from datetime import timedelta

import msgspec

from flowsync.config import DB_COMMAND_TIMEOUT_SECONDS


class SchedulerConfig(msgspec.Struct, frozen=True, kw_only=True):
    tick_seconds: float = 0.25
    """How often the leader checks it still holds the lock, fires due cron triggers and wakes
    workers for jobs that fell due."""
    lock_retry_seconds: float = 0.5
    """How often a follower tries for the lock: a dead leader is replaced within about this."""
    rescue_seconds: float = 1.0
    """How often the leader re-queues steps whose lease expired."""
    prune_seconds: float = 60.0
    """How often the leader deletes what is older than the retention period."""
    prune_batch: int = 500
    """Rows per delete statement (one short transaction each)."""
    prune_max_batches: int = 20
    """Statements per kind of row per pruning pass; the rest waits for the next pass."""
    retention: timedelta | None = timedelta(days=7)
    """Finished executions etc. older than this are deleted; None keeps everything."""
    db_command_timeout: float = DB_COMMAND_TIMEOUT_SECONDS
    """Seconds a duty's database call may take before it is cancelled and the pass fails (the
    next pass comes on time)."""
    db_timeout_seconds: float = 5.0
    """A lock or heartbeat call slower than this counts as a lost session: the leader steps
    down rather than run duties it may no longer own."""
