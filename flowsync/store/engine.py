"""The worker's calls: claim, report, heartbeat, release, rescue, next_run_at, registration."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

import msgspec

if TYPE_CHECKING:
    from flowsync.store.errors import Connection


class StepClaim(msgspec.Struct, frozen=True):
    """A step leased to this worker: what to run, with what, under which token."""

    step_id: int
    execution_id: UUID
    workflow: str
    version: int
    node_id: str
    node_type: str
    config: dict[str, Any]
    attempt: int
    max_attempts: int
    lease_token: UUID
    timeout_ms: int | None
    input: Any
    upstream: dict[str, Any]
    state: dict[str, Any] | None


class ReportOutcome(msgspec.Struct, frozen=True):
    step_id: int
    result: str  # ok | duplicate | stale | unknown


def _claims(rows: list[Any]) -> list[StepClaim]:
    return [
        StepClaim(
            step_id=r["step_id"],
            execution_id=r["execution_id"],
            workflow=r["workflow"],
            version=r["version"],
            node_id=r["node_id"],
            node_type=r["node_type"],
            config=r["config"],
            attempt=r["attempt"],
            max_attempts=r["max_attempts"],
            lease_token=r["lease_token"],
            timeout_ms=r["timeout_ms"],
            input=r["input"],
            upstream=r["upstream"],
            state=r["state"],
        )
        for r in rows
        if r["result"] == "claimed"
    ]


async def claim_steps(
    db: Connection, worker: str, queues: list[str], limit: int, lease_ms: int
) -> list[StepClaim]:
    rows = await db.fetch(
        "SELECT * FROM flowsync.claim_steps($1, $2, $3, $4)", worker, queues, limit, lease_ms
    )
    return _claims(rows)


async def report_steps(
    db: Connection,
    worker: str,
    reports: list[msgspec.Raw],
    queues: list[str],
    limit: int,
    lease_ms: int,
    top_up: bool = True,
) -> tuple[list[ReportOutcome], list[StepClaim]]:
    """Send a batch of reports; get how each was taken and the steps handed to us next: the
    steps our reports made ready, then (`top_up`) due jobs, `limit` in all."""
    rows = await db.fetch(
        "SELECT * FROM flowsync.report_steps($1, $2, $3, $4, $5, p_top_up => $6)",
        worker,
        reports,
        queues,
        limit,
        lease_ms,
        top_up,
    )
    outcomes = [ReportOutcome(r["step_id"], r["result"]) for r in rows if r["result"] != "claimed"]
    return outcomes, _claims(rows)


async def heartbeat(
    db: Connection, worker: str, step_ids: list[int], tokens: list[UUID], lease_ms: int
) -> list[int]:
    """Extend our leases; returns the steps whose lease we lost."""
    gone: list[int] = await db.fetchval(
        "SELECT flowsync.heartbeat($1, $2, $3, $4)", worker, step_ids, tokens, lease_ms
    )
    return gone


async def release_steps(
    db: Connection, worker: str, step_ids: list[int], tokens: list[UUID]
) -> int:
    count: int = await db.fetchval(
        "SELECT flowsync.release_steps($1, $2, $3)", worker, step_ids, tokens
    )
    return count


async def release_unknown_steps(db: Connection, worker: str, known_ids: list[int]) -> int:
    count: int = await db.fetchval(
        "SELECT flowsync.release_unknown_steps($1, $2)", worker, known_ids
    )
    return count


async def rescue_expired_leases(db: Connection, limit: int = 1000) -> int:
    count: int = await db.fetchval("SELECT flowsync.rescue_expired_leases($1)", limit)
    return count


async def next_run_at(db: Connection, queues: list[str]) -> datetime | None:
    when: datetime | None = await db.fetchval("SELECT flowsync.next_run_at($1)", queues)
    return when


async def register_worker(
    db: Connection, worker: str, hostname: str, pid: int, queues: list[str], concurrency: int
) -> None:
    await db.execute(
        "SELECT flowsync.register_worker($1, $2, $3, $4, $5)",
        worker,
        hostname,
        pid,
        queues,
        concurrency,
    )


async def worker_peers(db: Connection, worker: str, queues: list[str], seen_within_ms: int) -> int:
    """Other live workers that share one of our queues."""
    peers: int = await db.fetchval(
        "SELECT flowsync.worker_peers($1, $2, $3)", worker, queues, seen_within_ms
    )
    return peers


async def stop_worker(db: Connection, worker: str) -> None:
    await db.execute("SELECT flowsync.stop_worker($1)", worker)
