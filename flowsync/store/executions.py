"""Executions: start, read (list, detail, timeline, logs), cancel, resume, dead letters."""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

import asyncpg
import msgspec

from flowsync.store.errors import IdempotencyConflict, translate

if TYPE_CHECKING:
    from flowsync.store.errors import Connection


class ExecutionRow(msgspec.Struct, frozen=True):
    id: UUID
    workflow: str
    version: int
    status: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    idempotency_key: str | None


class StepRow(msgspec.Struct, frozen=True):
    id: int
    node_id: str
    status: str
    attempt: int
    output: Any
    error: Any
    queued_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    run_at: datetime | None
    worker_id: str | None


class ExecutionDetail(msgspec.Struct, frozen=True):
    execution: ExecutionRow
    input: Any
    output: Any
    error: Any
    steps: list[StepRow]


class TimelineEvent(msgspec.Struct, frozen=True):
    at: datetime
    event: str
    node_id: str | None
    attempt: int | None
    detail: Any


class StepLog(msgspec.Struct, frozen=True):
    id: int
    attempt: int
    at: datetime
    level: str
    message: str
    fields: dict[str, Any]


class DeadLetter(msgspec.Struct, frozen=True):
    step_id: int
    execution_id: UUID
    workflow: str
    node_id: str
    status: str
    attempt: int
    error: Any
    finished_at: datetime


_EXECUTION_COLUMNS = (
    "e.id, w.name AS workflow, e.version, e.status::text AS status, e.created_at, "
    "e.started_at, e.finished_at, e.idempotency_key"
)


class StartedExecution(msgspec.Struct, frozen=True):
    id: UUID
    created: bool
    """False: an earlier start with the same idempotency key is answered."""
    version: int
    status: str


async def start_execution(
    db: Connection,
    workflow: str,
    input: Any,
    *,
    idempotency_key: str | None = None,
    version: int | None = None,
) -> StartedExecution:
    """Raises WorkflowNotFound, WorkflowArchived, VersionNotFound, IdempotencyConflict."""
    try:
        row = await db.fetchrow(
            "SELECT execution_id, created, version, status::text AS status "
            "FROM flowsync.start_execution_ex($1, $2, $3, $4)",
            workflow,
            input,
            idempotency_key,
            version,
        )
    except asyncpg.PostgresError as exc:
        raise translate(exc) from None
    assert row is not None
    return StartedExecution(row["execution_id"], row["created"], row["version"], row["status"])


class BatchIdempotencyConflict(IdempotencyConflict):
    """An idempotency key of a batch was used with a different request: by an execution
    started before (`earlier_item` None), or by an earlier item of the same batch. Items are
    indexes into the batch's inputs, from 0."""

    def __init__(self, message: str, item: int, earlier_item: int | None) -> None:
        super().__init__(message)
        self.item = item
        self.earlier_item = earlier_item


# start_executions_ex's FS004 DETAIL, with items numbered from 1.
_CONFLICT_DETAIL = re.compile(r"^item (\d+)(?: repeats the key of item (\d+))?")


async def start_executions(
    db: Connection,
    workflow: str,
    inputs: list[Any],
    *,
    idempotency_keys: list[str | None] | None = None,
    version: int | None = None,
) -> list[StartedExecution]:
    """Start one execution per input in one statement; the answers in input order. An input
    of None is the empty object, as for start_execution. Raises WorkflowNotFound,
    WorkflowArchived, VersionNotFound, BatchIdempotencyConflict, InvalidBatch (keys not one
    per input)."""
    try:
        rows = await db.fetch(
            "SELECT execution_id, created, version, status::text AS status "
            "FROM flowsync.start_executions_ex($1, $2, $3, $4) ORDER BY ordinality",
            workflow,
            [{} if value is None else value for value in inputs],
            idempotency_keys,
            version,
        )
    except asyncpg.PostgresError as exc:
        raise _batch_error(exc) from None
    return [
        StartedExecution(row["execution_id"], row["created"], row["version"], row["status"])
        for row in rows
    ]


def _batch_error(exc: asyncpg.PostgresError) -> Exception:
    found = _CONFLICT_DETAIL.match(getattr(exc, "detail", None) or "")
    if getattr(exc, "sqlstate", None) != "FS004" or found is None:
        return translate(exc)
    earlier = None if found[2] is None else int(found[2]) - 1
    return BatchIdempotencyConflict(getattr(exc, "message", str(exc)), int(found[1]) - 1, earlier)


async def list_executions(
    db: Connection,
    *,
    workflow: str | None,
    status: str | None,
    created_after: datetime | None,
    created_before: datetime | None,
    cursor: tuple[datetime, UUID] | None,
    limit: int,
) -> list[ExecutionRow]:
    """Newest first; `cursor` is the (created_at, id) of the last row of the previous page."""
    rows = await db.fetch(
        f"SELECT {_EXECUTION_COLUMNS} FROM flowsync.executions e "
        "JOIN flowsync.workflows w ON w.id = e.workflow_id "
        "WHERE ($1::text IS NULL OR w.name = $1) "
        "AND ($2::text IS NULL OR e.status::text = $2) "
        "AND ($3::timestamptz IS NULL OR e.created_at >= $3) "
        "AND ($4::timestamptz IS NULL OR e.created_at < $4) "
        "AND ($5::timestamptz IS NULL OR (e.created_at, e.id) < ($5, $6::uuid)) "
        "ORDER BY e.created_at DESC, e.id DESC LIMIT $7",
        workflow,
        status,
        created_after,
        created_before,
        cursor[0] if cursor else None,
        cursor[1] if cursor else None,
        limit,
    )
    return [ExecutionRow(**dict(row)) for row in rows]


async def get_execution(db: Connection, execution_id: UUID) -> ExecutionDetail | None:
    row = await db.fetchrow(
        f"SELECT {_EXECUTION_COLUMNS}, e.input, e.output, e.error FROM flowsync.executions e "
        "JOIN flowsync.workflows w ON w.id = e.workflow_id WHERE e.id = $1",
        execution_id,
    )
    if row is None:
        return None
    steps = await db.fetch(
        "SELECT id, node_id, status::text AS status, attempt, output, error, queued_at, "
        "started_at, finished_at, run_at, worker_id "
        "FROM flowsync.steps WHERE execution_id = $1 ORDER BY node_idx",
        execution_id,
    )
    fields = dict(row)
    detail = {k: fields.pop(k) for k in ("input", "output", "error")}
    return ExecutionDetail(
        execution=ExecutionRow(**fields),
        steps=[StepRow(**dict(s)) for s in steps],
        **detail,
    )


async def execution_timeline(db: Connection, execution_id: UUID) -> list[TimelineEvent]:
    rows = await db.fetch("SELECT * FROM flowsync.execution_timeline($1)", execution_id)
    return [TimelineEvent(**dict(row)) for row in rows]


async def step_logs(
    db: Connection, execution_id: UUID, node_id: str, *, after: int | None, limit: int
) -> list[StepLog] | None:
    """Log lines of one step in order; None when the execution has no such step."""
    step_id = await db.fetchval(
        "SELECT id FROM flowsync.steps WHERE execution_id = $1 AND node_id = $2",
        execution_id,
        node_id,
    )
    if step_id is None:
        return None
    rows = await db.fetch(
        "SELECT id, attempt, at, level, message, fields FROM flowsync.step_logs "
        "WHERE execution_id = $1 AND step_id = $2 AND ($3::bigint IS NULL OR id > $3) "
        "ORDER BY id LIMIT $4",
        execution_id,
        step_id,
        after,
        limit,
    )
    return [StepLog(**dict(row)) for row in rows]


async def cancel_execution(
    db: Connection, execution_id: UUID, reason: str | None, actor: str | None
) -> str:
    """'cancelled', 'not_found', or 'already_<status>' for an execution that had finished."""
    result: str = await db.fetchval(
        "SELECT flowsync.cancel_execution($1, $2, $3)", execution_id, reason, actor
    )
    return result


async def resume_execution(
    db: Connection, execution_id: UUID, step_ids: list[int] | None, actor: str | None
) -> str:
    """'resumed', 'not_found', 'nothing_to_resume', or the status of a non-failed execution."""
    result: str = await db.fetchval(
        "SELECT flowsync.resume_execution($1, $2, $3)", execution_id, step_ids, actor
    )
    return result


async def list_dead_letters(
    db: Connection, *, workflow: str | None, cursor: tuple[datetime, int] | None, limit: int
) -> list[DeadLetter]:
    """Failed and dead steps, newest first."""
    rows = await db.fetch(
        "SELECT s.id AS step_id, s.execution_id, w.name AS workflow, s.node_id, "
        "s.status::text AS status, s.attempt, s.error, s.dead_lettered_at AS finished_at "
        "FROM flowsync.steps s JOIN flowsync.executions e ON e.id = s.execution_id "
        "JOIN flowsync.workflows w ON w.id = e.workflow_id "
        "WHERE s.dead_lettered_at IS NOT NULL AND ($1::text IS NULL OR w.name = $1) "
        "AND ($2::timestamptz IS NULL OR (s.dead_lettered_at, s.id) < ($2, $3::bigint)) "
        "ORDER BY s.dead_lettered_at DESC, s.id DESC LIMIT $4",
        workflow,
        cursor[0] if cursor else None,
        cursor[1] if cursor else None,
        limit,
    )
    return [DeadLetter(**dict(row)) for row in rows]


class DeadLetterReplay(msgspec.Struct, frozen=True):
    """What a replay did: 'resumed'; 'not_found' (not, or no longer, a dead letter); or the
    status of the step's execution, which is not failed. The ids are None when not found."""

    result: str
    execution_id: UUID | None
    node_id: str | None


async def replay_dead_letter(db: Connection, step_id: int, actor: str | None) -> DeadLetterReplay:
    """Re-run one failed/dead step (and what depends on it), in one round trip."""
    row = await db.fetchrow(
        "SELECT result, execution_id, node_id FROM flowsync.replay_dead_letter($1, $2)",
        step_id,
        actor,
    )
    assert row is not None
    return DeadLetterReplay(row["result"], row["execution_id"], row["node_id"])
