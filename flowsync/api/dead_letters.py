"""/dead-letters: failed and dead steps, newest first, and their replay."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, QueryParameter

from flowsync import store
from flowsync.api.auth import requires
from flowsync.api.execution_schemas import (
    MAX_BIGINT,
    DeadLetterOut,
    DeadLetterPage,
    Replayed,
    check_text,
    decode_keyset,
    encode_keyset,
)
from flowsync.api.executions import actor
from flowsync.api.pagination import Cursor, Limit, check_limit
from flowsync.api.problems import ApiProblem


def dead_letter_out(d: store.DeadLetter) -> DeadLetterOut:
    return DeadLetterOut(
        d.step_id,
        d.execution_id,
        d.workflow,
        d.node_id,
        d.status,
        d.attempt,
        d.error,
        d.finished_at,
    )


class DeadLetterController(Controller):
    path = "/dead-letters"
    tags = ("dead letters",)

    @get("/", guards=[requires("read")], summary="Failed and dead steps, newest first")
    async def list_dead_letters(
        self,
        request: Request[Any, Any, Any],
        workflow: Annotated[str | None, QueryParameter(description="workflow name")] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> DeadLetterPage:
        rows = await store.list_dead_letters(
            request.app.state.pool,
            workflow=None if workflow is None else check_text(workflow, "query.workflow"),
            cursor=decode_keyset(cursor, int),
            limit=check_limit(limit) + 1,
        )
        more = len(rows) > limit
        rows = rows[:limit]
        return DeadLetterPage(
            items=[dead_letter_out(d) for d in rows],
            next_cursor=encode_keyset(rows[-1].finished_at, rows[-1].step_id) if more else None,
        )

    @post(
        "/{step_id:int}/replay",
        guards=[requires("write")],
        status_code=200,
        summary="Re-run a failed or dead step and what depends on it",
    )
    async def replay(self, request: Request[Any, Any, Any], step_id: FromPath[int]) -> Replayed:
        if 1 <= step_id <= MAX_BIGINT:
            replay = await store.replay_dead_letter(request.app.state.pool, step_id, actor(request))
            if replay.result == "resumed" and replay.execution_id is not None:
                return Replayed(replay.execution_id, step_id, "running")
            if replay.result != "not_found":
                raise ApiProblem(409, "Conflict", not_replayable(step_id, replay))
        raise ApiProblem(404, "Not Found", f"step {step_id} is not a dead letter")


def not_replayable(step_id: int, replay: store.DeadLetterReplay) -> str:
    why = (
        "; the step failed without failing its execution (continue_on_failure)"
        if replay.result == "succeeded"
        else ""
    )
    return (
        f"step {step_id} ({replay.node_id!r}) cannot be replayed: only a failed execution's "
        f"steps can be, and execution {replay.execution_id} is '{replay.result}'{why}"
    )
