"""Worker settings (from CLI flags and FLOWSYNC_DB_COMMAND_TIMEOUT)."""

from __future__ import annotations

import msgspec

from flowsync.config import DB_COMMAND_TIMEOUT_SECONDS


class WorkerConfig(msgspec.Struct, frozen=True, kw_only=True):
    queues: tuple[str, ...] = ("default",)
    concurrency: int = 10
    """Steps run at once; also the most that claims in flight ask for together."""
    pipeline: int | None = None
    """Claim/report round trips in flight at once; None: two while this is the only worker
    of its queues, one when others share them (why: Worker._pipeline)."""
    lease_seconds: float = 30.0
    """A step whose worker stops heartbeating for this long is given to another worker."""
    grace_seconds: float = 30.0
    """On SIGTERM, how long in-flight steps may take before they are handed back."""
    poll_seconds: float = 5.0
    """The longest a worker goes without looking at the job table unless a notification
    says to (a safety net, not the path)."""
    rescue_seconds: float = 5.0
    """How often this worker looks for expired leases (0: never; the scheduler does it too)."""
    db_command_timeout: float = DB_COMMAND_TIMEOUT_SECONDS
    """Seconds a database call may take; then it is cancelled and counts as a lost
    connection: its outcome is unknown, so it is retried and the steps reconciled."""
    actions_module: str | None = None
    max_output_bytes: int = 1024 * 1024

    @property
    def lease_ms(self) -> int:
        return int(self.lease_seconds * 1000)

    @property
    def heartbeat_seconds(self) -> float:
        return self.lease_seconds / 3
