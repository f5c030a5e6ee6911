"""/triggers: create, list, read, change (enable/disable/config/mapping) and delete triggers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from litestar import Controller, Request, delete, get, patch, post
from litestar.params import FromPath, FromQuery

from flowsync import store
from flowsync.api.auth import requires
from flowsync.api.execution_schemas import (
    bad_request,
    check_text,
    decode_body,
    decode_keyset,
    encode_keyset,
    parse_uuid,
)
from flowsync.api.media import require_json
from flowsync.api.pagination import Cursor, Limit, check_limit
from flowsync.api.problems import ApiProblem, FieldError
from flowsync.store import triggers as trigger_store
from flowsync.triggers.config import TriggerConfigError
from flowsync.triggers.manage import NUL_MESSAGE, UnstorableText, create_trigger, update_trigger
from flowsync.triggers.models import (
    TriggerCreated,
    TriggerIn,
    TriggerOut,
    TriggerPage,
    TriggerPatch,
    trigger_out,
)


@contextmanager
def _problems() -> Iterator[None]:
    """A refused trigger as a problem: 400 for a NUL character, 422 invalid, 409 archived."""
    try:
        yield
    except UnstorableText as exc:
        raise bad_request(f"{exc.path} is invalid", exc.path, NUL_MESSAGE) from None
    except TriggerConfigError as exc:
        raise ApiProblem(
            422,
            "Invalid trigger",
            f"the trigger has {len(exc.issues)} problem(s): {exc}",
            errors=[FieldError(path, message) for path, message in exc.issues],
        ) from None
    except store.WorkflowArchived as exc:
        raise ApiProblem(409, "Conflict", str(exc)) from None


def _not_found(trigger_id: UUID | str) -> ApiProblem:
    return ApiProblem(404, "Not Found", f"trigger {trigger_id} does not exist")


class TriggerController(Controller):
    path = "/triggers"
    tags = ("triggers",)

    @post("/", guards=[requires("write")], status_code=201, summary="Create a trigger")
    async def create(self, request: Request[Any, Any, Any]) -> TriggerCreated:
        require_json(request)
        new = decode_body(await request.body(), TriggerIn)
        with _problems():
            created = await create_trigger(request.app.state.pool, new, request.auth.id)
        out = trigger_out(created.row)
        return TriggerCreated(
            **{f: getattr(out, f) for f in out.__struct_fields__}, secret=created.secret
        )

    @get("/", guards=[requires("read")], summary="List triggers, oldest first")
    async def list_triggers(
        self,
        request: Request[Any, Any, Any],
        workflow: FromQuery[str | None] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> TriggerPage:
        if workflow is not None:
            check_text(workflow, "query.workflow")
        rows = await trigger_store.list_triggers(
            request.app.state.pool,
            workflow=workflow,
            cursor=decode_keyset(cursor, UUID),
            limit=check_limit(limit) + 1,
        )
        more = len(rows) > limit
        rows = rows[:limit]
        return TriggerPage(
            items=[trigger_out(r) for r in rows],
            next_cursor=encode_keyset(rows[-1].created_at, rows[-1].id) if more else None,
        )

    @get("/{trigger_id:str}", guards=[requires("read")], summary="One trigger")
    async def get_trigger(
        self, request: Request[Any, Any, Any], trigger_id: FromPath[str]
    ) -> TriggerOut:
        row = await trigger_store.get_trigger(
            request.app.state.pool, parse_uuid(trigger_id, "path.trigger_id", "trigger")
        )
        if row is None:
            raise _not_found(trigger_id)
        return trigger_out(row)

    @patch(
        "/{trigger_id:str}",
        guards=[requires("write")],
        summary="Enable, disable, or change a trigger's config or input mapping",
    )
    async def update(
        self, request: Request[Any, Any, Any], trigger_id: FromPath[str]
    ) -> TriggerOut:
        require_json(request)
        key = parse_uuid(trigger_id, "path.trigger_id", "trigger")
        change = decode_body(await request.body(), TriggerPatch)
        with _problems():
            updated = await update_trigger(request.app.state.pool, key, change, request.auth.id)
        if updated is None:
            raise _not_found(trigger_id)
        return trigger_out(updated)

    @delete("/{trigger_id:str}", guards=[requires("write")], summary="Delete a trigger")
    async def remove(self, request: Request[Any, Any, Any], trigger_id: FromPath[str]) -> None:
        key = parse_uuid(trigger_id, "path.trigger_id", "trigger")
        if not await trigger_store.delete_trigger(request.app.state.pool, key, request.auth.id):
            raise _not_found(trigger_id)


async def workflow_triggers(pool: Any, workflow: str) -> list[TriggerOut]:
    """The triggers of one workflow (for GET /workflows/{name})."""
    rows = await trigger_store.list_triggers(pool, workflow=workflow, cursor=None, limit=500)
    return [trigger_out(r) for r in rows]
