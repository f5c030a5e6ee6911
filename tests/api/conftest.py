"""An in-process API app over a fresh database, and keys of every scope."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass

import asyncpg
import pytest
from litestar.testing import TestClient

from flowsync import keys, store
from flowsync.api.app import create_app
from flowsync.config import load_settings


@dataclass
class Keys:
    admin: str
    write: str
    read: str


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def api_keys(database_dsn: str) -> Keys:
    async def create() -> Keys:
        conn = await asyncpg.connect(database_dsn)
        try:
            made = {}
            for scope in keys.SCOPES:
                key = keys.new_api_key()
                await store.create_api_key(
                    conn, keys.hash_api_key(key), keys.display_prefix(key), [scope], scope
                )
                made[scope] = key
            return Keys(**made)
        finally:
            await conn.close()

    return asyncio.run(create())


@pytest.fixture
def client(database_dsn: str) -> Iterator[TestClient]:  # type: ignore[type-arg]
    settings = load_settings({}, max_body_bytes=2 * 1024 * 1024)
    with TestClient(app=create_app(settings, database_dsn)) as test_client:
        yield test_client


@pytest.fixture
def admin(client: TestClient, api_keys: Keys) -> TestClient:  # type: ignore[type-arg]
    """A client that sends the admin key on every request."""
    client.headers.update(auth(api_keys.admin))
    return client
