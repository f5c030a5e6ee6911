"""Executions: start (under /workflows/{name}, or many at once), list, read, timeline, logs,
cancel, resume."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, HeaderParameter, QueryParameter

from flowsync import store
from flowsync.api.auth import requires
from flowsync.api.execution_schemas import (
    MAX_BATCH,
    MAX_BIGINT,
    MAX_IDEMPOTENCY_KEY,
    CancelIn,
    ExecutionDetailOut,
    ExecutionOut,
    ExecutionPage,
    ExecutionsStarted,
    ExecutionStarted,
    ExecutionState,
    LogLine,
    LogPage,
    StartExecutionIn,
    StartExecutionsIn,
    StepOut,
    Timeline,
    TimelineItem,
    bad_request,
    check_batch,
    check_input_size,
    check_status,
    check_text,
    decode_body,
    decode_keyset,
    encode_keyset,
    parse_timestamp,
    parse_uuid,
)
from flowsync.api.media import require_json
from flowsync.api.pagination import Cursor, Limit, check_limit
from flowsync.api.problems import ApiProblem, FieldError

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        description="1-255 characters; a repeat with the same key and body returns the same "
        "execution (200) instead of starting another",
    ),
]


def actor(request: Request[Any, Any, Any]) -> str:
    """Who acts, for the audit trail: the API key's id."""
    return str(request.auth.id)


def execution_id(value: str) -> UUID:
    return parse_uuid(value, "path.id", "execution")


def execution_not_found(execution: UUID | str) -> ApiProblem:
    return ApiProblem(404, "Not Found", f"execution {execution} does not exist")


@contextmanager
def start_refusals(name: str, version: int | None, workflow_path: str) -> Iterator[None]:
    """The problem for a start refused for its workflow or version (404, 409 archived)."""
    try:
        yield
    except store.WorkflowNotFound:
        raise ApiProblem(
            404,
            "Not Found",
            f"workflow {name!r} does not exist",
            errors=[FieldError(workflow_path, "no such workflow")],
        ) from None
    except store.VersionNotFound:
        raise ApiProblem(
            404,
            "Not Found",
            f"version {version} of workflow {name!r} does not exist",
            errors=[FieldError("version", "no such version")],
        ) from None
    except store.WorkflowArchived:
        raise ApiProblem(
            409,
            "Conflict",
            f"workflow {name!r} is archived; restore it "
            f"(POST /workflows/{name}/restore) to start executions",
        ) from None


class ExecutionStartController(Controller):
    path = "/workflows/{name:str}/executions"
    tags = ("executions",)

    @post(
        "/",
        guards=[requires("write")],
        status_code=201,
        summary="Start an execution of a workflow",
        description="201 for a new execution; 200 when the Idempotency-Key names one already "
        "started with the same body.",
    )
    async def start(
        self,
        request: Request[Any, Any, Any],
        name: FromPath[str],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[ExecutionStarted]:
        require_json(request)
        check_text(name, "path.name")
        if idempotency_key is not None:
            if not 1 <= len(idempotency_key) <= MAX_IDEMPOTENCY_KEY:
                raise bad_request(
                    f"an Idempotency-Key has 1 to {MAX_IDEMPOTENCY_KEY} characters",
                    "header.Idempotency-Key",
                    f"must have 1 to {MAX_IDEMPOTENCY_KEY} characters, has {len(idempotency_key)}",
                )
            check_text(idempotency_key, "header.Idempotency-Key")
        body = await request.body()
        params = decode_body(body or b"{}", StartExecutionIn)
        check_input_size(params.input, "input")

        try:
            with start_refusals(name, params.version, "path.name"):
                started = await store.start_execution(
                    request.app.state.pool,
                    name,
                    params.input,
                    idempotency_key=idempotency_key,
                    version=params.version,
                )
        except store.IdempotencyConflict:
            raise ApiProblem(
                409,
                "Conflict",
                f"Idempotency-Key {idempotency_key!r} was already used to start an execution "
                f"of {name!r} with a different body; use a new key for a different request",
            ) from None

        return Response(
            ExecutionStarted(started.id, name, started.version, started.status, started.created),
            status_code=201 if started.created else 200,
            headers={"Location": f"/executions/{started.id}"},
        )


def batch_conflict(exc: store.BatchIdempotencyConflict, params: StartExecutionsIn) -> ApiProblem:
    """409 for a key used before with a different request; 400 for a key the batch itself
    gives to two different inputs."""
    path = f"idempotency_keys[{exc.item}]"
    if exc.earlier_item is not None:
        message = f"repeats idempotency_keys[{exc.earlier_item}] with a different input"
        return bad_request(f"{path} {message}", path, message)
    key = (params.idempotency_keys or [])[exc.item]
    message = (
        f"{key!r} was already used to start an execution of {params.workflow!r} with a "
        "different input or version; use a new key for a different request"
    )
    return ApiProblem(409, "Conflict", f"{path} {message}", errors=[FieldError(path, message)])


class ExecutionController(Controller):
    path = "/executions"
    tags = ("executions",)

    @post(
        "/batch",
        guards=[requires("write")],
        status_code=201,
        summary=f"Start up to {MAX_BATCH} executions of a workflow at once",
        description="Body: {workflow, inputs: [...], idempotency_keys?: [...], version?}. One "
        "execution per input, all in one transaction; the answer's items are in input order. "
        "201 when any execution was created; 200 when every item answered an execution "
        "started before (idempotency keys).",
    )
    async def start_batch(self, request: Request[Any, Any, Any]) -> Response[ExecutionsStarted]:
        require_json(request)
        params = decode_body(await request.body(), StartExecutionsIn)
        check_batch(params)
        name = params.workflow
        try:
            with start_refusals(name, params.version, "workflow"):
                started = await store.start_executions(
                    request.app.state.pool,
                    name,
                    params.inputs,
                    idempotency_keys=params.idempotency_keys,
                    version=params.version,
                )
        except store.BatchIdempotencyConflict as exc:
            raise batch_conflict(exc, params) from None
        items = [ExecutionStarted(s.id, name, s.version, s.status, s.created) for s in started]
        created = any(s.created for s in started)
        return Response(ExecutionsStarted(items), status_code=201 if created else 200)

    @get("/", guards=[requires("read")], summary="List executions, newest first")
    async def list_executions(
        self,
        request: Request[Any, Any, Any],
        workflow: Annotated[str | None, QueryParameter(description="workflow name")] = None,
        status: Annotated[
            str | None,
            QueryParameter(description="queued, running, succeeded, failed or cancelled"),
        ] = None,
        created_after: Annotated[
            str | None, QueryParameter(description="RFC 3339; created at or after")
        ] = None,
        created_before: Annotated[
            str | None, QueryParameter(description="RFC 3339; created before")
        ] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> ExecutionPage:
        rows = await store.list_executions(
            request.app.state.pool,
            workflow=None if workflow is None else check_text(workflow, "query.workflow"),
            status=check_status(status),
            created_after=parse_timestamp(created_after, "query.created_after"),
            created_before=parse_timestamp(created_before, "query.created_before"),
            cursor=decode_keyset(cursor, UUID),
            limit=check_limit(limit) + 1,
        )
        more = len(rows) > limit
        rows = rows[:limit]
        return ExecutionPage(
            items=[
                ExecutionOut(
                    r.id,
                    r.workflow,
                    r.version,
                    r.status,
                    r.created_at,
                    r.started_at,
                    r.finished_at,
                    r.idempotency_key,
                )
                for r in rows
            ],
            next_cursor=encode_keyset(rows[-1].created_at, rows[-1].id) if more else None,
        )

    @get("/{id:str}", guards=[requires("read")], summary="An execution and its steps")
    async def get_execution(
        self, request: Request[Any, Any, Any], id: FromPath[str]
    ) -> ExecutionDetailOut:
        found = await store.get_execution(request.app.state.pool, execution_id(id))
        if found is None:
            raise execution_not_found(id)
        e = found.execution
        return ExecutionDetailOut(
            id=e.id,
            workflow=e.workflow,
            version=e.version,
            status=e.status,
            created_at=e.created_at,
            started_at=e.started_at,
            finished_at=e.finished_at,
            idempotency_key=e.idempotency_key,
            input=found.input,
            output=found.output,
            error=found.error,
            steps=[
                StepOut(
                    id=s.id,
                    node_id=s.node_id,
                    status=s.status,
                    attempts=s.attempt,
                    output=s.output,
                    error=s.error,
                    queued_at=s.queued_at,
                    started_at=s.started_at,
                    finished_at=s.finished_at,
                    run_at=s.run_at,
                    worker_id=s.worker_id,
                )
                for s in found.steps
            ],
        )

    @get("/{id:str}/timeline", guards=[requires("read")], summary="What happened, in order")
    async def timeline(self, request: Request[Any, Any, Any], id: FromPath[str]) -> Timeline:
        events = await store.execution_timeline(request.app.state.pool, execution_id(id))
        if not events:  # an execution's timeline always starts with its creation
            raise execution_not_found(id)
        return Timeline(
            items=[TimelineItem(e.at, e.event, e.node_id, e.attempt, e.detail) for e in events]
        )

    @get(
        "/{id:str}/steps/{node_id:str}/logs",
        guards=[requires("read")],
        summary="Log lines of one step, oldest first",
    )
    async def logs(
        self,
        request: Request[Any, Any, Any],
        id: FromPath[str],
        node_id: FromPath[str],
        after: Annotated[
            int | None,
            QueryParameter(description="next_cursor of the previous page (a log line id)"),
        ] = None,
        limit: Limit = 100,
    ) -> LogPage:
        execution = execution_id(id)
        check_text(node_id, "path.node_id")
        if after is not None and not 0 <= after <= MAX_BIGINT:
            raise bad_request(
                "after must be a log line id", "query.after", f"out of range: {after}"
            )
        lines = await store.step_logs(
            request.app.state.pool, execution, node_id, after=after, limit=check_limit(limit) + 1
        )
        if lines is None:
            raise ApiProblem(
                404, "Not Found", f"execution {id} does not exist or has no step {node_id!r}"
            )
        more = len(lines) > limit
        lines = lines[:limit]
        return LogPage(
            items=[LogLine(x.id, x.attempt, x.at, x.level, x.message, x.fields) for x in lines],
            next_cursor=str(lines[-1].id) if more else None,
        )

    @post(
        "/{id:str}/cancel",
        guards=[requires("write")],
        status_code=200,
        summary="Cancel a queued or running execution",
    )
    async def cancel(self, request: Request[Any, Any, Any], id: FromPath[str]) -> ExecutionState:
        execution = execution_id(id)
        body = await request.body()
        reason = None
        if body.strip():
            require_json(request)
            reason = decode_body(body, CancelIn).reason
            if reason is not None:
                check_text(reason, "reason")
        result = await store.cancel_execution(
            request.app.state.pool, execution, reason, actor(request)
        )
        if result == "not_found":
            raise execution_not_found(execution)
        if result != "cancelled":
            status = result.removeprefix("already_")
            raise ApiProblem(
                409,
                "Conflict",
                f"execution {execution} has already finished: its status is '{status}'",
            )
        return ExecutionState(execution, "cancelled")

    @post(
        "/{id:str}/resume",
        guards=[requires("write")],
        status_code=200,
        summary="Resume a failed execution (re-run what failed or never ran)",
    )
    async def resume(self, request: Request[Any, Any, Any], id: FromPath[str]) -> ExecutionState:
        execution = execution_id(id)
        result = await store.resume_execution(
            request.app.state.pool, execution, None, actor(request)
        )
        if result == "not_found":
            raise execution_not_found(execution)
        if result == "nothing_to_resume":
            raise ApiProblem(409, "Conflict", f"execution {execution} has no failed step to resume")
        if result != "resumed":
            raise ApiProblem(
                409,
                "Conflict",
                f"only a failed execution can be resumed; execution {execution} is '{result}'",
            )
        return ExecutionState(execution, "running")
