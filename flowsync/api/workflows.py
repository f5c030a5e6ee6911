"""/workflows: create or version, list, read versions, archive/restore, graph."""

from __future__ import annotations

import re
from typing import Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.params import FromPath, FromQuery

from flowsync import store
from flowsync.api.auth import requires
from flowsync.api.execution_schemas import MAX_VERSION
from flowsync.api.media import require_json
from flowsync.api.pagination import Cursor, Limit, check_limit, decode_cursor, encode_cursor
from flowsync.api.problems import ApiProblem, FieldError
from flowsync.api.schemas import (
    ArchiveState,
    VersionDetail,
    VersionOut,
    VersionPage,
    WorkflowListItem,
    WorkflowOut,
    WorkflowPage,
    WorkflowSaved,
)
from flowsync.api.triggers import workflow_triggers
from flowsync.definition import (
    MAX_DEFINITION_BYTES,
    DefinitionError,
    parse_definition,
    to_mermaid,
)
from flowsync.definition.model import NAME_PATTERN

_NAME = re.compile(NAME_PATTERN)


def known_shape(name: str, version: int | None = None) -> None:
    """404 at once for a name or version no workflow can have (and that the database could
    not even compare: NUL characters, numbers beyond its integer range)."""
    if not _NAME.match(name) or (version is not None and not 1 <= version <= MAX_VERSION):
        raise not_found(name, version)


def not_found(name: str, version: int | None = None) -> ApiProblem:
    what = f"workflow {name!r}" if version is None else f"version {version} of workflow {name!r}"
    return ApiProblem(404, "Not Found", f"{what} does not exist")


class WorkflowController(Controller):
    path = "/workflows"
    tags = ("workflows",)

    @post(
        "/",
        guards=[requires("write")],
        status_code=201,
        summary="Create a workflow or a new version",
    )
    async def save(self, request: Request[Any, Any, Any]) -> Response[WorkflowSaved]:
        require_json(request)
        body = await request.body()
        if len(body) > MAX_DEFINITION_BYTES:
            raise ApiProblem(
                413,
                "Content Too Large",
                f"a workflow definition may be at most {MAX_DEFINITION_BYTES} bytes; "
                f"this one has {len(body)}",
            )
        try:
            definition = parse_definition(body)
        except DefinitionError as exc:
            raise ApiProblem(
                422,
                "Invalid workflow definition",
                f"the definition has {len(exc.issues)} problem(s)",
                errors=[FieldError(i.path, i.message) for i in exc.issues],
            ) from None
        pool = request.app.state.pool
        saved = await store.save_workflow_version(pool, definition, request.auth.id)
        summary = await store.get_workflow(pool, definition.name)
        assert summary is not None
        return Response(
            WorkflowSaved(
                definition.name, saved.version, saved.created, summary.archived_at is not None
            ),
            status_code=201 if saved.created else 200,
        )

    @get("/", guards=[requires("read")], summary="List workflows")
    async def list_workflows(
        self,
        request: Request[Any, Any, Any],
        limit: Limit = 50,
        cursor: Cursor = None,
        include_archived: FromQuery[bool] = False,
    ) -> WorkflowPage:
        rows = await store.list_workflows(
            request.app.state.pool,
            after=decode_cursor(cursor, str),
            limit=check_limit(limit) + 1,
            include_archived=include_archived,
        )
        more = len(rows) > limit
        rows = rows[:limit]
        return WorkflowPage(
            items=[
                WorkflowListItem(
                    r.name, r.latest_version, r.archived_at is not None, r.created_at, r.updated_at
                )
                for r in rows
            ],
            next_cursor=encode_cursor(rows[-1].name) if more else None,
        )

    @get("/{name:str}", guards=[requires("read")], summary="The latest version of a workflow")
    async def get_workflow(
        self, request: Request[Any, Any, Any], name: FromPath[str]
    ) -> WorkflowOut:
        known_shape(name)
        pool = request.app.state.pool
        summary = await store.get_workflow(pool, name)
        latest = await store.get_workflow_version(pool, name)
        if summary is None or latest is None:
            raise not_found(name)
        return WorkflowOut(
            name=name,
            version=latest.version,
            latest_version=summary.latest_version,
            archived=summary.archived_at is not None,
            created_at=summary.created_at,
            updated_at=summary.updated_at,
            checksum=latest.checksum,
            definition=latest.definition,
            triggers=await workflow_triggers(pool, name),
        )

    @get("/{name:str}/versions", guards=[requires("read")], summary="Versions, newest first")
    async def list_versions(
        self,
        request: Request[Any, Any, Any],
        name: FromPath[str],
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> VersionPage:
        known_shape(name)
        pool = request.app.state.pool
        if await store.get_workflow(pool, name) is None:
            raise not_found(name)
        rows = await store.list_workflow_versions(
            pool, name, before=decode_cursor(cursor, int), limit=check_limit(limit) + 1
        )
        more = len(rows) > limit
        rows = rows[:limit]
        return VersionPage(
            name=name,
            items=[VersionOut(r.version, r.checksum, r.created_at) for r in rows],
            next_cursor=encode_cursor(rows[-1].version) if more else None,
        )

    @get("/{name:str}/versions/{version:int}", guards=[requires("read")], summary="One version")
    async def get_version(
        self, request: Request[Any, Any, Any], name: FromPath[str], version: FromPath[int]
    ) -> VersionDetail:
        known_shape(name, version)
        found = await store.get_workflow_version(request.app.state.pool, name, version)
        if found is None:
            raise not_found(name, version)
        return VersionDetail(
            found.name, found.version, found.checksum, found.created_at, found.definition
        )

    @delete("/{name:str}", guards=[requires("write")], status_code=200, summary="Archive")
    async def archive(self, request: Request[Any, Any, Any], name: FromPath[str]) -> ArchiveState:
        known_shape(name)
        if not await store.set_workflow_archived(
            request.app.state.pool, name, True, request.auth.id
        ):
            raise not_found(name)
        return ArchiveState(name, True)

    @post("/{name:str}/restore", guards=[requires("write")], status_code=200, summary="Restore")
    async def restore(self, request: Request[Any, Any, Any], name: FromPath[str]) -> ArchiveState:
        known_shape(name)
        if not await store.set_workflow_archived(
            request.app.state.pool, name, False, request.auth.id
        ):
            raise not_found(name)
        return ArchiveState(name, False)

    @get(
        "/{name:str}/graph",
        guards=[requires("read")],
        media_type="text/vnd.mermaid; charset=utf-8",
        summary="Mermaid flowchart of the DAG",
    )
    async def graph(
        self,
        request: Request[Any, Any, Any],
        name: FromPath[str],
        version: FromQuery[int | None] = None,
    ) -> str:
        known_shape(name, version)
        found = await store.get_workflow_version(request.app.state.pool, name, version)
        if found is None:
            raise not_found(name, version)
        return to_mermaid(parse_definition(found.definition))
