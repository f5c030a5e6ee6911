"""Property-based fuzzing of every documented endpoint (schemathesis, from our own OpenAPI):
whatever the parameters, the API answers without a server error."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import schemathesis
from hypothesis import HealthCheck, given, settings

from flowsync import keys, store
from flowsync.api.app import create_app
from flowsync.config import load_settings

KEY = keys.new_api_key()


def test_no_endpoint_answers_a_server_error(database_dsn: str) -> None:
    async def admin_key() -> None:
        conn = await asyncpg.connect(database_dsn)
        try:
            await store.create_api_key(
                conn, keys.hash_api_key(KEY), keys.display_prefix(KEY), ["admin"], "fuzz"
            )
        finally:
            await conn.close()

    asyncio.run(admin_key())
    app = create_app(load_settings({}), database_dsn)
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", app)
    server_errors: list[tuple[Any, ...]] = []
    fuzzed = 0

    for operation in schema.get_all_operations():
        op = operation.ok()
        fuzzed += 1

        @given(case=op.as_strategy())
        @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
        def call(case: Any) -> None:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {KEY}"}
            response = case.call()
            if response.status_code >= 500:
                server_errors.append(
                    (case.method, case.formatted_path, case.query, response.status_code)
                )

        call()
    assert fuzzed >= 20, f"only {fuzzed} operations in the OpenAPI document"
    assert server_errors == [], server_errors[:10]
