"""POST /executions/batch: many executions in one request, in input order, with idempotency
keys; every bad input a 4xx that names the field."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from tests.api.conftest import Keys, auth
from tests.api.test_errors import error_paths, problem
from tests.sql.conftest import Db, chain

Client = TestClient  # type: ignore[type-arg]


def start_batch(client: Client, body: Any) -> Any:
    return client.post("/executions/batch", json=body)


def test_a_batch_starts_one_execution_per_input_in_order(admin: Client, db: Db) -> None:
    db.save(chain("two", 2))
    inputs = [{"order": n} for n in range(5)]
    response = start_batch(admin, {"workflow": "two", "inputs": inputs})
    assert response.status_code == 201, response.text
    items = response.json()["items"]
    assert [i["created"] for i in items] == [True] * 5
    assert {(i["workflow"], i["version"], i["status"]) for i in items} == {("two", 1, "queued")}
    for n, item in enumerate(items):
        detail = admin.get(f"/executions/{item['id']}").json()
        assert detail["input"] == {"order": n}
        assert [s["status"] for s in detail["steps"]] == ["queued", "pending"]


def test_null_and_non_object_inputs_are_taken_as_a_single_start_takes_them(
    admin: Client, db: Db
) -> None:
    db.save(chain("w", 1))
    items = start_batch(admin, {"workflow": "w", "inputs": [None, [1, "two"], 3]}).json()["items"]
    inputs = [admin.get(f"/executions/{i['id']}").json()["input"] for i in items]
    assert inputs == [{}, [1, "two"], 3]


def test_a_pinned_version(admin: Client, db: Db) -> None:
    db.save(chain("grow", 1))
    db.save(chain("grow", 2))
    items = start_batch(admin, {"workflow": "grow", "inputs": [{}], "version": 1}).json()["items"]
    assert items[0]["version"] == 1


def test_repeating_a_batch_with_its_keys_answers_200_with_the_same_executions(
    admin: Client, db: Db
) -> None:
    db.save(chain("w", 1))
    body = {
        "workflow": "w",
        "inputs": [{"a": 1}, {"a": 2}, {"a": 1}],
        "idempotency_keys": ["order-1", "order-2", "order-1"],
    }
    first = start_batch(admin, body)
    assert first.status_code == 201
    assert [i["created"] for i in first.json()["items"]] == [True, True, False]
    again = start_batch(admin, body)
    assert again.status_code == 200
    assert again.json()["items"] == [{**i, "created": False} for i in first.json()["items"]]
    assert len(admin.get("/executions").json()["items"]) == 2


def test_a_batch_answers_a_single_start_with_the_same_key(admin: Client, db: Db) -> None:
    db.save(chain("w", 1))
    single = admin.post(
        "/workflows/w/executions", json={"input": {"a": 1}}, headers={"Idempotency-Key": "k"}
    ).json()
    items = start_batch(
        admin,
        {"workflow": "w", "inputs": [{"b": 1}, {"a": 1}], "idempotency_keys": [None, "k"]},
    ).json()["items"]
    assert items[1] == single | {"created": False}
    assert items[0]["created"]


def test_a_key_used_before_with_another_input_is_409_naming_the_item(admin: Client, db: Db) -> None:
    db.save(chain("w", 1))
    start_batch(admin, {"workflow": "w", "inputs": [{"a": 1}], "idempotency_keys": ["k"]})
    conflict = problem(
        start_batch(
            admin,
            {"workflow": "w", "inputs": [{"b": 1}, {"a": 2}], "idempotency_keys": ["new", "k"]},
        ),
        409,
    )
    assert "'k'" in error_paths(conflict)["idempotency_keys[1]"]
    assert "different input" in conflict["detail"]
    assert len(admin.get("/executions").json()["items"]) == 1  # the batch left nothing


def test_a_key_given_twice_with_different_inputs_is_400(admin: Client, db: Db) -> None:
    db.save(chain("w", 1))
    body = {"workflow": "w", "inputs": [{"a": 1}, {"a": 2}], "idempotency_keys": ["k", "k"]}
    refused = problem(start_batch(admin, body), 400)
    assert "idempotency_keys[0]" in error_paths(refused)["idempotency_keys[1]"]


def test_unknown_workflow_or_version_is_404_and_archived_is_409(admin: Client, db: Db) -> None:
    assert "workflow" in error_paths(
        problem(start_batch(admin, {"workflow": "nope", "inputs": [{}]}), 404)
    )
    db.save(chain("old", 1))
    missing = problem(start_batch(admin, {"workflow": "old", "inputs": [{}], "version": 7}), 404)
    assert "version 7" in missing["detail"] and "version" in error_paths(missing)
    admin.delete("/workflows/old")
    archived = problem(start_batch(admin, {"workflow": "old", "inputs": [{}]}), 409)
    assert "archived" in archived["detail"]


def test_an_empty_batch_starts_nothing(admin: Client, db: Db) -> None:
    db.save(chain("w", 1))
    response = start_batch(admin, {"workflow": "w", "inputs": []})
    assert response.status_code == 200 and response.json() == {"items": []}


@pytest.mark.parametrize(
    ("body", "path", "fragment"),
    [
        ({"inputs": [{}]}, "workflow", "missing required field `workflow`"),
        ({"workflow": "w"}, "inputs", "missing required field `inputs`"),
        ({"workflow": "w", "inputs": {"a": 1}}, "inputs", "Expected `array`"),
        ({"workflow": "w", "inputs": [{}] * 1001}, "inputs", "length <= 1000"),
        ({"workflow": "w", "inputs": [{}], "colour": "blue"}, "colour", "unknown field"),
        ({"workflow": "w", "inputs": [{}], "version": 0}, "version", ">= 1"),
        ({"workflow": "w\u0000", "inputs": [{}]}, "workflow", "NUL"),
        ({"workflow": "w", "inputs": [{}, {}, {}, {"t": "a\u0000b"}]}, "inputs[3]", "\\u0000"),
        (
            {"workflow": "w", "inputs": [{}, {}], "idempotency_keys": ["k"]},
            "idempotency_keys",
            "1 given for 2 inputs",
        ),
        (
            {"workflow": "w", "inputs": [{}], "idempotency_keys": [""]},
            "idempotency_keys[0]",
            ">= 1",
        ),
        (
            {"workflow": "w", "inputs": [{}], "idempotency_keys": ["k" * 256]},
            "idempotency_keys[0]",
            "<= 255",
        ),
        (
            {"workflow": "w", "inputs": [{}, {}], "idempotency_keys": [None, "\u0000"]},
            "idempotency_keys[1]",
            "NUL",
        ),
    ],
)
def test_bad_bodies_are_400_naming_the_field(
    admin: Client, db: Db, body: dict[str, Any], path: str, fragment: str
) -> None:
    db.save(chain("w", 1))
    refused = problem(start_batch(admin, body), 400)
    errors = error_paths(refused)
    assert fragment in errors.get(path, ""), refused
    assert len(admin.get("/executions").json()["items"]) == 0


def test_a_batch_of_1000_is_accepted(admin: Client, db: Db) -> None:
    db.save(chain("w", 1))
    response = start_batch(admin, {"workflow": "w", "inputs": [{"n": n} for n in range(1000)]})
    assert response.status_code == 201 and len(response.json()["items"]) == 1000


def test_an_input_over_256_kib_is_413_naming_it(admin: Client, db: Db) -> None:
    db.save(chain("w", 1))
    inputs = [{}, "x" * (256 * 1024)]
    too_big = problem(start_batch(admin, {"workflow": "w", "inputs": inputs}), 413)
    assert "inputs[1]" in too_big["detail"] and "262144" in too_big["detail"]


def test_not_json_is_415_and_broken_json_is_400(admin: Client, db: Db) -> None:
    db.save(chain("w", 1))
    wrong_type = admin.post(
        "/executions/batch", content=b"inputs=1", headers={"content-type": "text/plain"}
    )
    problem(wrong_type, 415)
    broken = admin.post(
        "/executions/batch",
        content=b'{"workflow": "w", "inputs": [',
        headers={"content-type": "application/json"},
    )
    problem(broken, 400)


def test_a_batch_needs_a_write_key(client: Client, api_keys: Keys, db: Db) -> None:
    db.save(chain("w", 1))
    body = {"workflow": "w", "inputs": [{}]}
    assert client.post("/executions/batch", json=body).status_code == 401
    denied = client.post("/executions/batch", json=body, headers=auth(api_keys.read))
    assert "write" in problem(denied, 403)["detail"]
    allowed = client.post("/executions/batch", json=body, headers=auth(api_keys.write))
    assert allowed.status_code == 201
