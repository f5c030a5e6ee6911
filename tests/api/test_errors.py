"""Every class of bad input answers 4xx with a problem+json body that says what and where."""

from __future__ import annotations

import copy
from typing import Any

from litestar.testing import TestClient

from tests.api.test_workflows import ORDER_PAID

Client = TestClient  # type: ignore[type-arg]


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"]
    return body


def error_paths(body: dict[str, Any]) -> dict[str, str]:
    return {e["path"]: e["message"] for e in body["errors"]}


def test_validation_errors_name_path_and_problem(admin: Client) -> None:
    bad = copy.deepcopy(ORDER_PAID)
    bad["nodes"][4]["depends_on"] = ["review", "shp"]
    bad["nodes"][1]["config"]["expr"] = "steps.fetch.output.body.total >"
    body = problem(admin.post("/workflows", json=bad), 422)
    errors = error_paths(body)
    assert "nodes[4].depends_on[1]" in errors and "shp" in errors["nodes[4].depends_on[1]"]
    assert "nodes[1].config.expr" in errors


def test_cycle_is_named(admin: Client) -> None:
    definition = {
        "name": "loop",
        "nodes": [
            {"id": "a", "type": "noop", "depends_on": ["c"]},
            {"id": "b", "type": "noop", "depends_on": ["a"]},
            {"id": "c", "type": "noop", "depends_on": ["b"]},
        ],
    }
    body = problem(admin.post("/workflows", json=definition), 422)
    messages = " ".join(e["message"] for e in body["errors"])
    assert "cycle" in messages
    assert all(node in messages for node in ("a", "b", "c"))


def test_unknown_fields_are_rejected(admin: Client) -> None:
    body = problem(admin.post("/workflows", json={**ORDER_PAID, "colour": "blue"}), 422)
    assert any("colour" in e["message"] for e in body["errors"])


def test_invalid_json_is_400_or_422(admin: Client) -> None:
    response = admin.post(
        "/workflows",
        content=b'{"name": "x", "nodes": [',
        headers={"content-type": "application/json"},
    )
    assert response.status_code in (400, 422)
    problem(response, response.status_code)


def test_wrong_content_type_is_415(admin: Client) -> None:
    response = admin.post(
        "/workflows", content=b"name: x", headers={"content-type": "application/yaml"}
    )
    body = problem(response, 415)
    assert "application/json" in body["detail"]


def test_oversize_definition_is_413(admin: Client) -> None:
    huge = copy.deepcopy(ORDER_PAID)
    huge["description"] = "x" * (1024 * 1024 + 10)
    problem(admin.post("/workflows", json=huge), 413)


def test_body_over_server_limit_is_413(admin: Client) -> None:
    response = admin.post(
        "/workflows",
        content=b"[" + b"1," * (1024 * 1024 + 100) + b"1]",
        headers={"content-type": "application/json"},
    )
    problem(response, 413)


def test_bad_query_parameters_are_400(admin: Client) -> None:
    problem(admin.get("/workflows", params={"limit": 0}), 400)
    problem(admin.get("/workflows", params={"limit": "many"}), 400)
    problem(admin.get("/workflows", params={"cursor": "%%%not-a-cursor"}), 400)
    problem(admin.get("/workflows", params={"cursor": "bm90IGpzb24"}), 400)


def test_empty_workflow_is_rejected(admin: Client) -> None:
    body = problem(admin.post("/workflows", json={"name": "empty", "nodes": []}), 422)
    assert "nodes" in error_paths(body)


def test_bad_name_is_rejected(admin: Client) -> None:
    body = problem(admin.post("/workflows", json={**ORDER_PAID, "name": "Bad Name!"}), 422)
    assert "name" in error_paths(body)


def test_nothing_is_stored_for_a_rejected_definition(admin: Client) -> None:
    admin.post("/workflows", json=ORDER_PAID)
    bad = copy.deepcopy(ORDER_PAID)
    bad["nodes"][0]["type"] = "htp"
    problem(admin.post("/workflows", json=bad), 422)
    assert admin.get("/workflows/order-paid").json()["version"] == 1


def test_request_id_is_echoed_and_generated(admin: Client) -> None:
    given = admin.get("/workflows", headers={"X-Request-Id": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    generated = admin.get("/workflows/nope")
    assert len(generated.headers["x-request-id"]) == 32
    assert generated.json()["request_id"] == generated.headers["x-request-id"]
