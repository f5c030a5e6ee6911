"""/triggers CRUD: validation with precise paths, secrets shown once, pagination, PATCH, DELETE."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest
from litestar.testing import TestClient

from tests.api.conftest import Keys, auth
from tests.api.paging import every_item
from tests.processes import wait_for
from tests.sql.conftest import Db

Client = TestClient  # type: ignore[type-arg]


def create(admin: Client, kind: str, config: dict[str, Any], **extra: Any) -> Any:
    return admin.post("/triggers", json={"workflow": "wf", "kind": kind, "config": config, **extra})


def errors(response: Any) -> dict[str, str]:
    return {e["path"]: e["message"] for e in response.json().get("errors", [])}


def test_create_each_kind_and_read_back(admin: Client, db: Db) -> None:
    hook = create(admin, "webhook", {})
    assert hook.status_code == 201, hook.text
    assert hook.json()["secret"].startswith("whsec_")  # generated, shown once
    cron = create(admin, "cron", {"cron": "0 9 * * 1-5", "timezone": "Europe/Berlin"})
    assert cron.status_code == 201, cron.text
    assert cron.json()["next_fire_at"] is not None
    assert cron.json()["config"]["misfire"] == "run_once"
    interval = create(admin, "cron", {"interval": "1s", "misfire": "skip"})
    assert interval.status_code == 201, interval.text
    event = create(admin, "event", {"type": "orders.*", "filter": "payload.total > 10"})
    assert event.status_code == 201, event.text
    assert event.json()["secret"] is None

    one = admin.get(f"/triggers/{hook.json()['id']}")
    assert one.status_code == 200
    assert "secret" not in one.json()  # never echoed after creation
    assert one.json()["hook_path"] == hook.json()["hook_path"]
    listed = admin.get("/triggers").json()
    assert [t["kind"] for t in listed["items"]] == ["webhook", "cron", "cron", "event"]
    assert all("secret" not in t for t in listed["items"])

    workflow = admin.get("/workflows/wf").json()
    assert [t["id"] for t in workflow["triggers"]] == [t["id"] for t in listed["items"]]


@pytest.mark.parametrize(
    ("kind", "config", "extra", "path", "fragment"),
    [
        ("cron", {"cron": "61 * * * *"}, {}, "config.cron", "Bad minute"),
        ("cron", {"cron": "* * * *"}, {}, "config.cron", "expected 5 fields"),
        ("cron", {"cron": "0 * * * *", "timezone": "Mars/Base"}, {}, "config.timezone", "zone"),
        ("cron", {"interval": "500ms"}, {}, "config.interval", "shortest interval is 1s"),
        ("cron", {"interval": "soon"}, {}, "config.interval", "invalid duration"),
        ("cron", {}, {}, "config.cron", "exactly one of"),
        ("cron", {"cron": "0 * * * *", "interval": "1m"}, {}, "config.interval", "exactly one"),
        ("cron", {"interval": "1m", "misfire": "all"}, {}, "config.misfire", "Invalid enum"),
        ("event", {"type": "orders.**"}, {}, "config.type", "pattern"),
        ("event", {}, {}, "config", "missing required field `type`"),
        ("event", {"type": "a", "filter": "payload.x =="}, {}, "config.filter", "syntax"),
        ("event", {"type": "a", "filter": "body.x"}, {}, "config.filter", "unknown variable"),
        ("webhook", {"colour": "red"}, {}, "config.colour", "unknown field"),
        ("webhook", {"max_body_bytes": 0}, {}, "config.max_body_bytes", ">= 1"),
        ("webhook", {}, {"input_mapping": "event.id"}, "input_mapping", "unknown variable"),
        ("event", {"type": "a"}, {"secret": "long-enough-secret"}, "secret", "only webhook"),
        ("nope", {}, {}, "kind", "unknown kind"),
    ],
)
def test_bad_triggers_are_422_with_the_path(
    admin: Client, db: Db, kind: str, config: Any, extra: Any, path: str, fragment: str
) -> None:
    response = create(admin, kind, config, **extra)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    found = errors(response)
    assert path in found, found
    assert fragment in found[path], found


def test_bad_requests_are_4xx_never_5xx(admin: Client, db: Db) -> None:
    nul = create(admin, "webhook", {"filter": "\u0000"})
    assert nul.status_code == 400 and "NUL" in errors(nul)["config"], nul.text
    missing = admin.post("/triggers", json={"workflow": "nope", "kind": "webhook"})
    assert missing.status_code == 422 and "workflow" in errors(missing)
    assert (
        admin.post(
            "/triggers", content=b"{", headers={"Content-Type": "application/json"}
        ).status_code
        == 400
    )
    assert (
        admin.post("/triggers", content=b"x", headers={"Content-Type": "text/plain"}).status_code
        == 415
    )
    assert admin.get("/triggers/not-a-uuid").status_code == 400
    unknown = "00000000-0000-0000-0000-000000000000"
    assert admin.get(f"/triggers/{unknown}").status_code == 404
    assert admin.patch(f"/triggers/{unknown}", json={"enabled": False}).status_code == 404
    assert admin.delete(f"/triggers/{unknown}").status_code == 404
    assert admin.get("/triggers?cursor=garbage").status_code == 400
    assert admin.get("/triggers?limit=0").status_code == 400
    short = create(admin, "webhook", {}, secret="short")
    assert short.status_code == 400, short.text
    long = create(admin, "webhook", {}, secret="s" * 513)
    assert long.status_code == 400 and "secret" in errors(long), long.text
    hook = create(admin, "webhook", {}).json()
    nul_mapping = admin.patch(f"/triggers/{hook['id']}", json={"input_mapping": "'\u0000'"})
    assert nul_mapping.status_code == 400 and "input_mapping" in errors(nul_mapping)
    assert admin.delete("/workflows/wf").status_code == 200
    assert create(admin, "webhook", {}).status_code == 409


def test_pagination_and_workflow_filter(admin: Client, db: Db) -> None:
    db.save({"name": "other", "nodes": [{"id": "a", "type": "noop"}]})
    ids = [create(admin, "event", {"type": f"t{i}"}).json()["id"] for i in range(5)]
    admin.post("/triggers", json={"workflow": "other", "kind": "event", "config": {"type": "x"}})
    assert [t["id"] for t in every_item(admin, "/triggers", limit=2, workflow="wf")] == ids
    assert len(admin.get("/triggers").json()["items"]) == 6
    assert admin.get("/triggers?workflow=nope").json()["items"] == []


def test_patch_enable_disable_config_and_mapping(admin: Client, db: Db) -> None:
    trigger = create(admin, "cron", {"interval": "1h"}).json()
    off = admin.patch(f"/triggers/{trigger['id']}", json={"enabled": False})
    assert off.status_code == 200, off.text
    assert off.json()["enabled"] is False and off.json()["next_fire_at"] is None
    on = admin.patch(f"/triggers/{trigger['id']}", json={"enabled": True})
    assert on.json()["enabled"] is True and on.json()["next_fire_at"] is not None
    changed = admin.patch(
        f"/triggers/{trigger['id']}",
        json={"config": {"cron": "*/5 * * * *"}, "input_mapping": "{'at': payload.scheduled_for}"},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["config"]["cron"] == "*/5 * * * *"
    assert changed.json()["input_mapping"] == "{'at': payload.scheduled_for}"
    assert changed.json()["next_fire_at"].endswith(("0:00Z", "5:00Z"))
    bad = admin.patch(f"/triggers/{trigger['id']}", json={"config": {"cron": "nope"}})
    assert bad.status_code == 422 and "config.cron" in errors(bad)
    cleared = admin.patch(f"/triggers/{trigger['id']}", json={"input_mapping": None})
    assert cleared.json()["input_mapping"] is None
    assert admin.patch(f"/triggers/{trigger['id']}", json={"kind": "webhook"}).status_code == 400


def test_delete_is_204_and_scopes_apply(client: Client, api_keys: Keys, db: Db) -> None:
    body = {"workflow": "wf", "kind": "event", "config": {"type": "a.b"}}
    assert client.post("/triggers", json=body).status_code == 401
    assert client.post("/triggers", json=body, headers=auth(api_keys.read)).status_code == 403
    created = client.post("/triggers", json=body, headers=auth(api_keys.write))
    assert created.status_code == 201
    path = f"/triggers/{created.json()['id']}"
    assert client.get(path, headers=auth(api_keys.read)).status_code == 200
    assert client.delete(path, headers=auth(api_keys.read)).status_code == 403
    assert client.delete(path, headers=auth(api_keys.write)).status_code == 204
    assert client.get(path, headers=auth(api_keys.read)).status_code == 404
    audit = db.conn.execute(
        "SELECT action FROM flowsync.audit_log WHERE subject = %s ORDER BY id",
        (f"trigger:{created.json()['id']}",),
    ).fetchall()
    assert [a["action"] for a in audit] == ["trigger.created", "trigger.deleted"]


def test_openapi_documents_the_trigger_routes(admin: Client, db: Db) -> None:
    spec = admin.get("/schema/openapi.json")
    assert spec.status_code == 200, spec.text
    paths = spec.json()["paths"]
    assert {"/triggers", "/triggers/{trigger_id}", "/hooks/{key}", "/events"} <= set(paths)
    assert paths["/hooks/{key}"]["post"]["security"] == [{}]  # no API key: the trigger's secret


def test_concurrent_patches_of_different_fields_both_survive(
    admin: Client, db: Db, database_dsn: str
) -> None:
    trigger = create(admin, "event", {"type": "a"}).json()
    path = f"/triggers/{trigger['id']}"
    # Both PATCHes wait on a lock held here, then run at once: each must see the other's change.
    with psycopg.connect(database_dsn) as holder, ThreadPoolExecutor(2) as threads:
        holder.execute(
            "SELECT 1 FROM flowsync.triggers WHERE id = %s FOR NO KEY UPDATE", (trigger["id"],)
        )
        disabling = threads.submit(admin.patch, path, json={"enabled": False})
        retyping = threads.submit(admin.patch, path, json={"config": {"type": "b.*"}})
        try:
            wait_for(lambda: db.lock_waiters() >= 2, 20, "both patches to wait for the lock")
        finally:
            holder.commit()
        assert disabling.result().status_code == 200, disabling.result().text
        assert retyping.result().status_code == 200, retyping.result().text
    final = admin.get(path).json()
    assert (final["enabled"], final["config"]["type"]) == (False, "b.*")
    stored = db.conn.execute(
        "SELECT enabled, event_type FROM flowsync.triggers WHERE id = %s", (trigger["id"],)
    ).fetchone()
    assert stored == {"enabled": False, "event_type": "b.*"}
