"""create_app(): the Litestar application, its lifespan (pool) and its wiring."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.middleware.base import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from flowsync import __version__, db
from flowsync.api.auth import ApiKeyMiddleware, KeyCache
from flowsync.api.dead_letters import DeadLetterController
from flowsync.api.events import EventController
from flowsync.api.executions import ExecutionController, ExecutionStartController
from flowsync.api.hooks import HookController
from flowsync.api.problems import EXCEPTION_HANDLERS
from flowsync.api.request_ids import request_id_middleware
from flowsync.api.scheduler import SchedulerController
from flowsync.api.system import SystemController
from flowsync.api.triggers import TriggerController
from flowsync.api.workflows import WorkflowController
from flowsync.config import Settings


def create_app(settings: Settings, dsn: str) -> Litestar:
    """The API bound to the database at `dsn` (the pool opens on startup)."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        app.state.pool = await db.create_pool(
            dsn,
            min_size=settings.db_pool_min,
            max_size=settings.db_pool_max,
            application_name="flowsync-api",
            command_timeout=settings.db_command_timeout,
        )
        try:
            yield
        finally:
            await app.state.pool.close()

    openapi = OpenAPIConfig(
        title="FlowSync",
        version=__version__,
        description="Durable, Postgres-native workflow orchestration.",
        path="/schema",
        render_plugins=[ScalarRenderPlugin(), SwaggerRenderPlugin(path="/swagger")],
        components=Components(
            security_schemes={
                "apiKey": SecurityScheme(type="http", scheme="bearer", description="API key")
            }
        ),
        security=[{"apiKey": []}],
    )
    app = Litestar(
        route_handlers=[
            SystemController,
            WorkflowController,
            ExecutionStartController,
            ExecutionController,
            DeadLetterController,
            TriggerController,
            HookController,
            EventController,
            SchedulerController,
        ],
        lifespan=[lifespan],
        middleware=[
            request_id_middleware,
            DefineMiddleware(ApiKeyMiddleware, exclude=["^/schema"]),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=openapi,
        request_max_body_size=settings.max_body_bytes,
        debug=False,
        logging_config=None,  # flowsync.log configures logging (structlog) for the process
    )
    app.state.key_cache = KeyCache()
    app.state.db_command_timeout = settings.db_command_timeout  # named in 503 answers
    return app
