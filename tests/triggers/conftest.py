"""Trigger tests: the API fixtures (client, admin, api_keys), the Db helper, and small helpers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import asyncpg
import pytest

from flowsync import db as flowsync_db
from tests.api.conftest import admin, api_keys, client
from tests.sql.conftest import Db

__all__ = ["admin", "api_keys", "client"]

T = TypeVar("T")

ONE_STEP = {"name": "wf", "nodes": [{"id": "a", "type": "noop"}]}


@pytest.fixture
def db(db: Db) -> Db:
    """The shared Db, with the one-step workflow `wf` saved."""
    db.save(ONE_STEP)
    return db


@asynccontextmanager
async def pool_for(dsn: str) -> AsyncIterator[asyncpg.Pool[Any]]:
    pool = await flowsync_db.create_pool(dsn, min_size=1, max_size=4)
    try:
        yield pool
    finally:
        await pool.close()


def with_pool(dsn: str, work: Callable[[asyncpg.Pool[Any]], Awaitable[T]]) -> T:
    """Run `work(pool)` on a fresh pool over the test database, synchronously."""

    async def run() -> T:
        async with pool_for(dsn) as pool:
            return await work(pool)

    return asyncio.run(run())


def executions(db: Db, workflow: str = "wf") -> list[dict[str, Any]]:
    return db.conn.execute(
        "SELECT e.* FROM flowsync.executions e JOIN flowsync.workflows w ON w.id = e.workflow_id "
        "WHERE w.name = %s ORDER BY e.created_at, e.id",
        (workflow,),
    ).fetchall()


def fires(db: Db) -> list[dict[str, Any]]:
    return db.conn.execute("SELECT * FROM flowsync.trigger_fires ORDER BY id").fetchall()
