"""POST /hooks/{key}: signatures, replay window, dedupe by delivery id, filters, limits."""

from __future__ import annotations

import time
from typing import Any

import msgspec
from litestar.testing import TestClient

from flowsync.triggers.signature import SIGNATURE_HEADER, sign
from tests.sql.conftest import Db
from tests.triggers.conftest import executions, fires

Client = TestClient  # type: ignore[type-arg]
SECRET = "s3cret-for-tests"


def make_hook(admin: Client, config: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    body = {"workflow": "wf", "kind": "webhook", "config": config or {}, "secret": SECRET, **extra}
    response = admin.post("/triggers", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def deliver(
    client: Client,
    trigger: dict[str, Any],
    payload: Any,
    *,
    secret: str = SECRET,
    at: float | None = None,
    headers: dict[str, str] | None = None,
    raw: bytes | None = None,
    signed: bool = True,
) -> Any:
    body = raw if raw is not None else msgspec.json.encode(payload)
    # No API key (an empty Authorization): the hook authenticates by its own secret.
    sent = {"Content-Type": "application/json", "Authorization": "", **(headers or {})}
    if signed:
        sent[SIGNATURE_HEADER] = sign(secret, int(at if at is not None else time.time()), body)
    return client.post(trigger["hook_path"], content=body, headers=sent)


def test_valid_signature_starts_one_execution(admin: Client, db: Db) -> None:
    trigger = make_hook(admin)
    assert trigger["secret"] == SECRET
    assert trigger["hook_path"].startswith("/hooks/hk_")
    response = deliver(admin, trigger, {"order": 42})
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["matched"] is True and body["duplicate"] is False
    rows = executions(db)
    assert [str(r["id"]) for r in rows] == [body["execution_id"]]
    assert rows[0]["input"] == {"order": 42}


def test_bad_missing_or_expired_signature_is_401_and_starts_nothing(admin: Client, db: Db) -> None:
    trigger = make_hook(admin)
    cases = {
        "wrong secret": deliver(admin, trigger, {"a": 1}, secret="not-the-secret"),
        "missing": deliver(admin, trigger, {"a": 1}, signed=False),
        "expired": deliver(admin, trigger, {"a": 1}, at=time.time() - 301),
        # (signed timestamps are whole seconds: +301 truncates to as little as +300.0x,
        # inside the window by the time it is checked; +302 stays outside it)
        "future": deliver(admin, trigger, {"a": 1}, at=time.time() + 302),
    }
    tampered_body = msgspec.json.encode({"a": 2})
    good = sign(SECRET, int(time.time()), msgspec.json.encode({"a": 1}))
    cases["tampered"] = admin.post(
        trigger["hook_path"],
        content=tampered_body,
        headers={"Content-Type": "application/json", SIGNATURE_HEADER: good},
    )
    cases["garbage"] = admin.post(
        trigger["hook_path"],
        content=b"{}",
        headers={"Content-Type": "application/json", SIGNATURE_HEADER: "t=abc,v1=zz"},
    )
    for what, response in cases.items():
        assert response.status_code == 401, (what, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    assert "five" not in cases["expired"].json()["detail"]
    assert "5 minutes" in cases["expired"].json()["detail"]
    assert executions(db) == []
    assert fires(db) == []


def test_signature_with_several_v1_entries_matches_any(admin: Client, db: Db) -> None:
    trigger = make_hook(admin)
    body = msgspec.json.encode({"x": 1})
    now = int(time.time())
    header = f"t={now},v1={'0' * 64},v1={sign(SECRET, now, body).split('v1=')[1]}"
    response = admin.post(
        trigger["hook_path"],
        content=body,
        headers={"Content-Type": "application/json", SIGNATURE_HEADER: header},
    )
    assert response.status_code == 202, response.text
    assert len(executions(db)) == 1


def test_duplicate_delivery_id_answers_with_the_same_execution(admin: Client, db: Db) -> None:
    trigger = make_hook(admin)
    first = deliver(admin, trigger, {"n": 1}, headers={"X-Delivery-Id": "d-1"})
    assert first.status_code == 202, first.text
    again = deliver(admin, trigger, {"n": 1}, headers={"X-Delivery-Id": "d-1"})
    assert again.status_code == 200, again.text
    assert again.json() == {
        "matched": True,
        "execution_id": first.json()["execution_id"],
        "duplicate": True,
        "reason": None,
    }
    # Even with another body: the delivery id decides.
    changed = deliver(admin, trigger, {"n": 2}, headers={"X-Delivery-Id": "d-1"})
    assert changed.status_code == 200
    assert changed.json()["execution_id"] == first.json()["execution_id"]
    other = deliver(admin, trigger, {"n": 1}, headers={"X-Delivery-Id": "d-2"})
    assert other.status_code == 202
    assert len(executions(db)) == 2
    keys = [f["dedupe_key"] for f in fires(db)]
    assert keys == ["delivery:d-1", "delivery:d-2"]


def test_delivery_id_header_name_is_configurable(admin: Client, db: Db) -> None:
    trigger = make_hook(admin, {"delivery_id_header": "X-GitHub-Delivery"})
    headers = {"X-GitHub-Delivery": "gh-1"}
    assert deliver(admin, trigger, {}, headers=headers).status_code == 202
    assert deliver(admin, trigger, {}, headers=headers).status_code == 200
    # Without the header there is nothing to dedupe by: each delivery starts one.
    assert deliver(admin, trigger, {}).status_code == 202
    assert deliver(admin, trigger, {}).status_code == 202
    assert len(executions(db)) == 3


def test_filter_true_starts_and_false_answers_unmatched(admin: Client, db: Db) -> None:
    trigger = make_hook(
        admin,
        {"filter": 'body.action == "opened" && headers["x-event"] == "pr"'},
        input_mapping='{"number": body.number, "event": headers["x-event"]}',
    )
    headers = {"X-Event": "pr"}
    no = deliver(admin, trigger, {"action": "closed", "number": 7}, headers=headers)
    assert no.status_code == 202, no.text
    assert no.json()["matched"] is False and no.json()["execution_id"] is None
    missing_key = deliver(admin, trigger, {"number": 7}, headers=headers)
    assert missing_key.status_code == 202 and missing_key.json()["matched"] is False
    assert executions(db) == []
    yes = deliver(admin, trigger, {"action": "opened", "number": 7}, headers=headers)
    assert yes.status_code == 202, yes.text
    assert yes.json()["matched"] is True
    assert [r["input"] for r in executions(db)] == [{"number": 7, "event": "pr"}]


def test_oversize_body_is_413(admin: Client, db: Db) -> None:
    trigger = make_hook(admin, {"max_body_bytes": 100})
    response = deliver(admin, trigger, {"pad": "x" * 200})
    assert response.status_code == 413, response.text
    assert "100 bytes" in response.json()["detail"]
    assert deliver(admin, trigger, {"pad": "x"}).status_code == 202
    assert len(executions(db)) == 1


def test_non_json_is_415_unless_allowed(admin: Client, db: Db) -> None:
    strict = make_hook(admin)
    form = deliver(
        admin,
        strict,
        None,
        raw=b"a=1",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert form.status_code == 415, form.text
    broken = deliver(admin, strict, None, raw=b"{not json")
    assert broken.status_code == 400, broken.text
    nul = deliver(admin, strict, None, raw=b'{"a": "\\u0000"}')
    assert nul.status_code == 400, nul.text
    lax = make_hook(admin, {"require_json": False})
    text = deliver(admin, lax, None, raw=b"a=1", headers={"Content-Type": "text/plain"})
    assert text.status_code == 202, text.text
    assert [r["input"] for r in executions(db)] == ["a=1"]


def test_bearer_token_instead_of_signature(admin: Client, db: Db) -> None:
    trigger = make_hook(admin, {"auth": "bearer"})
    good = deliver(admin, trigger, {}, signed=False, headers={"Authorization": f"Bearer {SECRET}"})
    assert good.status_code == 202, good.text
    bad = deliver(admin, trigger, {}, signed=False, headers={"Authorization": "Bearer nope-nope"})
    assert bad.status_code == 401
    none = deliver(admin, trigger, {}, signed=False)
    assert none.status_code == 401
    assert len(executions(db)) == 1


def test_unknown_or_disabled_trigger_is_404(admin: Client, db: Db) -> None:
    trigger = make_hook(admin)
    assert deliver(admin, {"hook_path": "/hooks/hk_nope"}, {}).status_code == 404
    response = admin.patch(f"/triggers/{trigger['id']}", json={"enabled": False})
    assert response.status_code == 200, response.text
    assert deliver(admin, trigger, {}).status_code == 404
    assert executions(db) == []


def test_mapping_that_fails_is_422_and_archived_workflow_409(admin: Client, db: Db) -> None:
    trigger = make_hook(admin, input_mapping="{'id': body.order.id}")
    response = deliver(admin, trigger, {"order": 1})
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith("input_mapping:")
    plain = make_hook(admin)
    assert admin.delete("/workflows/wf").status_code == 200
    archived = deliver(admin, plain, {}, headers={"X-Delivery-Id": "a-1"})
    assert archived.status_code == 409, archived.text
    assert admin.post("/workflows/wf/restore").status_code == 200
    # The failed fire is recorded, and a retry of the same delivery starts the execution.
    retried = deliver(admin, plain, {}, headers={"X-Delivery-Id": "a-1"})
    assert retried.status_code == 202, retried.text
    assert len(executions(db)) == 1
