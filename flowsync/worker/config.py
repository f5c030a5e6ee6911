"""Worker settings (from CLI flags)."""

from __future__ import annotations

import msgspec


class WorkerConfig(msgspec.Struct, frozen=True, kw_only=True):
    queues: tuple[str, ...] = ("default",)
    concurrency: int = 10
    """Steps run at once; also the most that claims in flight ask for together."""
    pipeline: int = 2
    """Claim/report round trips in flight at once. Two let the database work on one batch
    while this process runs the other: with fast steps, throughput nearly doubles."""
    lease_seconds: float = 30.0
    """A step whose worker stops heartbeating for this long is given to another worker."""
    grace_seconds: float = 30.0
    """On SIGTERM, how long in-flight steps may take before they are handed back."""
    poll_seconds: float = 5.0
    """The longest an idle worker sleeps without a notification (a safety net, not the path)."""
    rescue_seconds: float = 5.0
    """How often this worker looks for expired leases (0: never; the scheduler does it too)."""
    actions_module: str | None = None
    max_output_bytes: int = 1024 * 1024

    @property
    def lease_ms(self) -> int:
        return int(self.lease_seconds * 1000)

    @property
    def heartbeat_seconds(self) -> float:
        return self.lease_seconds / 3
