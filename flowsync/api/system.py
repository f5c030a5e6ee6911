"""Liveness, readiness and the published definition schema."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get

from flowsync import store
from flowsync.api.auth import requires
from flowsync.api.problems import ApiProblem
from flowsync.api.schemas import Health, Ready
from flowsync.definition import definition_json_schema


class SystemController(Controller):
    tags = ("system",)

    @get("/health", opt={"exclude_from_auth": True}, summary="The process is up")
    async def health(self) -> Health:
        return Health("ok")

    @get("/ready", opt={"exclude_from_auth": True}, summary="The database is reachable")
    async def ready(self, request: Request[Any, Any, Any]) -> Ready:
        try:
            await store.ping(request.app.state.pool)
        except Exception as exc:
            raise ApiProblem(
                503, "Service Unavailable", f"database unreachable: {type(exc).__name__}"
            ) from None
        return Ready("ok", "ok")

    @get(
        "/workflow-schema",
        guards=[requires("read")],
        summary="JSON Schema of workflow definitions",
    )
    async def workflow_schema(self) -> Response[dict[str, Any]]:
        return Response(definition_json_schema(), media_type="application/schema+json")
