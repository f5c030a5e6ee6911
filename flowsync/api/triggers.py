"""/triggers: create, list, read, change (enable/disable/config/mapping) and delete triggers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from litestar import Controller, Request, delete, get, patch, post
from litestar.params import FromPath, FromQuery
from msgspec import UNSET

from flowsync import store
from flowsync.api.auth import requires
from flowsync.api.execution_schemas import (
    check_text,
    decode_body,
    decode_keyset,
    encode_keyset,
    encoded_input,
    parse_uuid,
)
from flowsync.api.media import require_json
from flowsync.api.pagination import Cursor, Limit, check_limit
from flowsync.api.problems import ApiProblem, FieldError
from flowsync.store import triggers as trigger_store
from flowsync.triggers.config import CheckedTrigger, TriggerConfigError, check_trigger, first_tick
from flowsync.triggers.models import (
    TriggerCreated,
    TriggerIn,
    TriggerOut,
    TriggerPage,
    TriggerPatch,
    trigger_out,
)
from flowsync.triggers.signature import new_hook_key, new_secret

PGMQ_MISSING = (
    "pgmq is not installed in this database; install it with: bin/flowsync triggers install-pgmq"
)


def _invalid(exc: TriggerConfigError) -> ApiProblem:
    return ApiProblem(
        422,
        "Invalid trigger",
        f"the trigger has {len(exc.issues)} problem(s): {exc}",
        errors=[FieldError(path, message) for path, message in exc.issues],
    )


def _check(kind: Any, config: Any, input_mapping: Any) -> CheckedTrigger:
    encoded_input(config, "config")  # refuses what Postgres cannot store (NUL characters)
    if isinstance(input_mapping, str):
        check_text(input_mapping, "input_mapping")
    try:
        return check_trigger(kind, config, input_mapping)
    except TriggerConfigError as exc:
        raise _invalid(exc) from None


def _not_found(trigger_id: UUID | str) -> ApiProblem:
    return ApiProblem(404, "Not Found", f"trigger {trigger_id} does not exist")


async def _ensure_queue(pool: Any, checked: CheckedTrigger) -> None:
    """A pgmq trigger needs PGMQ in the database; its queue is created if missing."""
    if checked.kind != "pgmq":
        return
    if not await trigger_store.pgmq_installed(pool):
        raise _invalid(TriggerConfigError([("config.queue", PGMQ_MISSING)]))
    await trigger_store.pgmq_create_queue(pool, checked.config["queue"])


class TriggerController(Controller):
    path = "/triggers"
    tags = ("triggers",)

    @post("/", guards=[requires("write")], status_code=201, summary="Create a trigger")
    async def create(self, request: Request[Any, Any, Any]) -> TriggerCreated:
        require_json(request)
        params = decode_body(await request.body(), TriggerIn)
        check_text(params.workflow, "workflow")
        checked = _check(params.kind, params.config, params.input_mapping)
        if params.secret is not None and checked.kind != "webhook":
            raise _invalid(TriggerConfigError([("secret", "only webhook triggers have one")]))
        if params.secret is not None:
            check_text(params.secret, "secret")
        secret = (params.secret or new_secret()) if checked.kind == "webhook" else None
        pool = request.app.state.pool
        await _ensure_queue(pool, checked)
        try:
            trigger_id = await trigger_store.create_trigger(
                pool,
                workflow=params.workflow,
                kind=checked.kind,
                enabled=params.enabled,
                config=checked.config,
                input_mapping=checked.input_mapping,
                hook_key=new_hook_key() if checked.kind == "webhook" else None,
                secret=secret,
                event_type=checked.event_type,
                next_fire_at=first_tick(checked, datetime.now(UTC)),
                actor=request.auth.id,
            )
        except store.WorkflowNotFound:
            raise ApiProblem(
                422,
                "Invalid trigger",
                f"workflow {params.workflow!r} does not exist",
                errors=[FieldError("workflow", "no such workflow")],
            ) from None
        except store.WorkflowArchived as exc:
            raise ApiProblem(409, "Conflict", str(exc)) from None
        row = await trigger_store.get_trigger(pool, trigger_id)
        assert row is not None
        out = trigger_out(row)
        return TriggerCreated(**{f: getattr(out, f) for f in out.__struct_fields__}, secret=secret)

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
        pool = request.app.state.pool
        row = await trigger_store.get_trigger(pool, key)
        if row is None:
            raise _not_found(trigger_id)
        config = row.config if change.config is UNSET else change.config
        mapping = row.input_mapping if change.input_mapping is UNSET else change.input_mapping
        enabled = row.enabled if change.enabled is UNSET else change.enabled
        checked = _check(row.kind, config, mapping)
        if change.config is not UNSET:
            await _ensure_queue(pool, checked)
        next_fire_at = None  # keep the current next tick
        # A new schedule, or a trigger coming back on, starts from now: ticks missed while it
        # was disabled are not misfires.
        if checked.schedule is not None and (
            change.config is not UNSET or (enabled and not row.enabled)
        ):
            next_fire_at = first_tick(checked, datetime.now(UTC))
        if not await trigger_store.update_trigger(
            pool,
            key,
            enabled=enabled,
            config=checked.config,
            input_mapping=checked.input_mapping,
            event_type=checked.event_type,
            next_fire_at=next_fire_at,
            actor=request.auth.id,
        ):
            raise _not_found(trigger_id)
        updated = await trigger_store.get_trigger(pool, key)
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
