"""API keys and scopes; health, readiness, schemas."""

from __future__ import annotations

import pytest
from litestar.testing import TestClient

from tests.api.conftest import Keys, auth
from tests.api.test_workflows import ORDER_PAID

Client = TestClient  # type: ignore[type-arg]

PROTECTED = [
    ("GET", "/workflows"),
    ("POST", "/workflows"),
    ("GET", "/workflows/order-paid"),
    ("GET", "/workflows/order-paid/versions"),
    ("GET", "/workflows/order-paid/versions/1"),
    ("GET", "/workflows/order-paid/graph"),
    ("DELETE", "/workflows/order-paid"),
    ("POST", "/workflows/order-paid/restore"),
    ("GET", "/workflow-schema"),
]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_no_key_is_401(client: Client, method: str, path: str) -> None:
    response = client.request(method, path)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header", ["Bearer fsk_not-a-real-key", "Basic dXNlcjpwYXNz", "Bearer", "fsk_abc"]
)
def test_bad_key_is_401(client: Client, header: str) -> None:
    response = client.get("/workflows", headers={"Authorization": header})
    assert response.status_code == 401


def test_read_scope_can_read_but_not_write(client: Client, api_keys: Keys) -> None:
    client.post("/workflows", json=ORDER_PAID, headers=auth(api_keys.write))
    assert client.get("/workflows", headers=auth(api_keys.read)).status_code == 200
    assert client.get("/workflows/order-paid", headers=auth(api_keys.read)).status_code == 200
    denied = client.post("/workflows", json=ORDER_PAID, headers=auth(api_keys.read))
    assert denied.status_code == 403
    assert "write" in denied.json()["detail"]
    assert client.delete("/workflows/order-paid", headers=auth(api_keys.read)).status_code == 403


def test_write_and_admin_can_write(client: Client, api_keys: Keys) -> None:
    assert (
        client.post("/workflows", json=ORDER_PAID, headers=auth(api_keys.write)).status_code == 201
    )
    assert client.delete("/workflows/order-paid", headers=auth(api_keys.admin)).status_code == 200


def test_revoked_key_is_rejected(client: Client, api_keys: Keys, database_dsn: str) -> None:
    import psycopg

    from flowsync.keys import hash_api_key

    with psycopg.connect(database_dsn) as conn:
        conn.execute(
            "UPDATE flowsync.api_keys SET revoked_at = now() WHERE key_hash = %s",
            (hash_api_key(api_keys.read),),
        )
    assert client.get("/workflows", headers=auth(api_keys.read)).status_code == 401


def test_key_hash_only_is_stored(api_keys: Keys, database_dsn: str) -> None:
    import psycopg

    with psycopg.connect(database_dsn) as conn:
        dump = str(conn.execute("SELECT * FROM flowsync.api_keys").fetchall())
    for key in (api_keys.admin, api_keys.write, api_keys.read):
        assert key not in dump


def test_health_ready_and_openapi_are_public(client: Client) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").json() == {"status": "ok", "database": "ok"}
    spec = client.get("/schema/openapi.json")
    assert spec.status_code == 200
    paths = spec.json()["paths"]
    for path in ("/workflows", "/workflows/{name}", "/workflows/{name}/versions/{version}"):
        assert path in paths


def test_workflow_schema(admin: Client) -> None:
    response = admin.get("/workflow-schema")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/schema+json")
    schema = response.json()
    assert "nodes" in str(schema)
