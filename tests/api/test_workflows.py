"""POST/GET/DELETE /workflows and friends, against a real database."""

from __future__ import annotations

import copy
from typing import Any

import psycopg
from litestar.testing import TestClient

from tests.api.paging import every_item

Client = TestClient  # type: ignore[type-arg]

ORDER_PAID: dict[str, Any] = {
    "name": "order-paid",
    "defaults": {
        "retry": {"max_attempts": 5, "backoff": "exponential", "initial": "1s", "max": "5m"},
        "timeout": "30s",
        "queue": "default",
    },
    "nodes": [
        {
            "id": "fetch",
            "type": "http",
            "config": {"method": "GET", "url": "https://shop.example/orders/{{ input.order_id }}"},
        },
        {
            "id": "big",
            "type": "condition",
            "depends_on": ["fetch"],
            "config": {"expr": "steps.fetch.output.body.total > 1000"},
        },
        {
            "id": "review",
            "type": "http",
            "depends_on": [{"node": "big", "when": True}],
            "config": {"method": "POST", "url": "https://shop.example/review"},
        },
        {
            "id": "wait",
            "type": "delay",
            "depends_on": [{"node": "big", "when": False}],
            "config": {"duration": "10m"},
        },
        {
            "id": "ship",
            "type": "webhook",
            "depends_on": ["review", "wait"],
            "join": "one_success",
            "config": {"url": "https://shop.example/ship"},
        },
    ],
}


def changed(definition: dict[str, Any], duration: str) -> dict[str, Any]:
    new = copy.deepcopy(definition)
    new["nodes"][3]["config"]["duration"] = duration
    return new


def test_create_then_identical_then_changed(admin: Client) -> None:
    first = admin.post("/workflows", json=ORDER_PAID)
    assert first.status_code == 201, first.text
    assert first.json() == {"name": "order-paid", "version": 1, "created": True, "archived": False}

    same = admin.post("/workflows", json=ORDER_PAID)
    assert same.status_code == 200
    assert same.json()["version"] == 1 and same.json()["created"] is False

    # Key order and explicit defaults do not make a definition different.
    reordered = dict(reversed(list(ORDER_PAID.items())))
    assert admin.post("/workflows", json=reordered).json()["version"] == 1

    second = admin.post("/workflows", json=changed(ORDER_PAID, "20m"))
    assert second.status_code == 201
    assert second.json()["version"] == 2


def test_old_versions_stay_readable(admin: Client) -> None:
    admin.post("/workflows", json=ORDER_PAID)
    admin.post("/workflows", json=changed(ORDER_PAID, "20m"))
    admin.post("/workflows", json=changed(ORDER_PAID, "30m"))

    latest = admin.get("/workflows/order-paid").json()
    assert latest["version"] == 3 and latest["latest_version"] == 3
    assert latest["definition"]["nodes"][3]["config"]["duration"] == "30m"

    v1 = admin.get("/workflows/order-paid/versions/1")
    assert v1.status_code == 200
    assert v1.json()["definition"]["nodes"][3]["config"]["duration"] == "10m"

    versions = admin.get("/workflows/order-paid/versions").json()
    assert [v["version"] for v in versions["items"]] == [3, 2, 1]
    assert versions["next_cursor"] is None
    assert len({v["checksum"] for v in versions["items"]}) == 3


def test_versions_paginate(admin: Client) -> None:
    for minutes in range(1, 6):
        admin.post("/workflows", json=changed(ORDER_PAID, f"{minutes}m"))
    versions = every_item(admin, "/workflows/order-paid/versions", limit=2)
    assert [v["version"] for v in versions] == [5, 4, 3, 2, 1]


def test_list_paginates_by_name_and_hides_archived(admin: Client) -> None:
    names = [f"wf-{i:02d}" for i in range(7)]
    for name in names:
        assert admin.post("/workflows", json={**ORDER_PAID, "name": name}).status_code == 201
    assert [item["name"] for item in every_item(admin, "/workflows", limit=3)] == names

    assert admin.delete("/workflows/wf-03").json() == {"name": "wf-03", "archived": True}
    visible = [i["name"] for i in admin.get("/workflows", params={"limit": 50}).json()["items"]]
    assert "wf-03" not in visible
    everything = admin.get("/workflows", params={"include_archived": "true"}).json()["items"]
    assert {"name": "wf-03", "archived": True}.items() <= next(
        i for i in everything if i["name"] == "wf-03"
    ).items()


def test_archive_and_restore(admin: Client, database_dsn: str) -> None:
    admin.post("/workflows", json=ORDER_PAID)
    assert admin.delete("/workflows/order-paid").status_code == 200
    assert admin.get("/workflows/order-paid").json()["archived"] is True
    # Archiving twice is harmless; versions survive archiving.
    assert admin.delete("/workflows/order-paid").status_code == 200
    assert admin.get("/workflows/order-paid/versions/1").status_code == 200
    restored = admin.post("/workflows/order-paid/restore")
    assert restored.status_code == 200 and restored.json()["archived"] is False
    assert admin.get("/workflows/order-paid").json()["archived"] is False
    with psycopg.connect(database_dsn) as conn:
        actions = [
            r[0]
            for r in conn.execute(
                "SELECT action FROM flowsync.audit_log WHERE subject = 'workflow:order-paid' "
                "ORDER BY id"
            )
        ]
    assert actions == ["workflow.version_created", "workflow.archived", "workflow.restored"]


def test_unknown_workflow_is_404_problem(admin: Client) -> None:
    for path in (
        "/workflows/nope",
        "/workflows/nope/versions",
        "/workflows/nope/versions/1",
        "/workflows/nope/graph",
    ):
        response = admin.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "nope" in response.json()["detail"]
    assert admin.delete("/workflows/nope").status_code == 404
    assert admin.post("/workflows/nope/restore").status_code == 404
    admin.post("/workflows", json=ORDER_PAID)
    assert admin.get("/workflows/order-paid/versions/9").status_code == 404


def test_graph_is_mermaid(admin: Client) -> None:
    admin.post("/workflows", json=ORDER_PAID)
    response = admin.get("/workflows/order-paid/graph")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/vnd.mermaid")
    text = response.text
    assert text.startswith("flowchart TD")
    assert "fetch" in text and "ship" in text
    assert "|true|" in text and "|false|" in text


def test_versions_are_immutable_in_the_database(admin: Client, database_dsn: str) -> None:
    admin.post("/workflows", json=ORDER_PAID)
    with psycopg.connect(database_dsn) as conn:
        try:
            conn.execute("UPDATE flowsync.workflow_versions SET definition = '{}'")
        except psycopg.errors.IntegrityConstraintViolation as exc:
            assert "immutable" in str(exc)
        else:
            raise AssertionError("a stored version was changed")
