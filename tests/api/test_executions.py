"""Executions over HTTP (start, list, read, timeline, logs, cancel, resume) and their CLI."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any
from uuid import UUID

import pytest
from litestar.testing import TestClient

from flowsync.cli import main
from tests.api.conftest import Keys, auth
from tests.api.paging import every_item
from tests.api.test_errors import error_paths, problem
from tests.sql.conftest import Db, at, chain

Client = TestClient  # type: ignore[type-arg]

NO_SUCH_ID = "00000000-0000-0000-0000-000000000000"
RETRYING = {
    "name": "retrying",
    "nodes": [
        {
            "id": "a",
            "type": "noop",
            "retry": {"max_attempts": 3, "initial": "500ms", "jitter": False},
        },
        {"id": "b", "type": "noop", "depends_on": ["a"]},
    ],
}


def report(db: Db, claim: dict[str, Any], now: datetime, **fields: Any) -> None:
    """One step report at a fixed time (Db.succeed/fail report at T0)."""
    rows = db.report(
        [{"step_id": claim["step_id"], "token": claim["lease_token"], **fields}], now=now
    )
    assert rows[0]["result"] == "ok"


def start(client: Client, name: str, body: Any = None, **headers: str) -> Any:
    return client.post(f"/workflows/{name}/executions", json=body or {}, headers=headers)


def failed_execution(db: Db, key: str | None = None) -> UUID:
    """A two-step chain whose first step failed for good: the execution is failed."""
    db.save(chain("flaky", 2))
    execution_id = db.start("flaky", key=key)
    db.fail(db.claim()[0], retryable=False)
    assert db.execution(execution_id)["status"] == "failed"
    return execution_id


def key_id(db: Db, name: str) -> str:
    row = db.conn.execute("SELECT id FROM flowsync.api_keys WHERE name = %s", (name,)).fetchone()
    assert row is not None
    return str(row["id"])


# -- start -----------------------------------------------------------------------------------


def test_start_answers_201_with_location(admin: Client, db: Db) -> None:
    db.save(chain("two", 2))
    response = start(admin, "two", {"input": {"order": 42}})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body == {
        "id": body["id"],
        "workflow": "two",
        "version": 1,
        "status": "queued",
        "created": True,
    }
    assert response.headers["location"] == f"/executions/{body['id']}"
    detail = admin.get(response.headers["location"]).json()
    assert detail["input"] == {"order": 42}
    assert [(s["node_id"], s["status"]) for s in detail["steps"]] == [
        ("s0", "queued"),
        ("s1", "pending"),
    ]


def test_start_defaults_to_empty_input_and_latest_version(admin: Client, db: Db) -> None:
    db.save(chain("grow", 1))
    db.save(chain("grow", 2))
    empty_body = admin.post(
        "/workflows/grow/executions", content=b"", headers={"content-type": "application/json"}
    )
    assert empty_body.status_code == 201
    assert empty_body.json()["version"] == 2
    assert admin.get(empty_body.headers["location"]).json()["input"] == {}

    pinned = start(admin, "grow", {"version": 1, "input": [1, "two", None]})
    assert pinned.json()["version"] == 1
    assert admin.get(pinned.headers["location"]).json()["input"] == [1, "two", None]


def test_start_of_unknown_archived_or_missing_version(admin: Client, db: Db) -> None:
    assert "nope" in problem(start(admin, "nope"), 404)["detail"]
    db.save(chain("old", 1))
    assert "version 7" in problem(start(admin, "old", {"version": 7}), 404)["detail"]
    admin.delete("/workflows/old")
    archived = problem(start(admin, "old"), 409)
    assert "archived" in archived["detail"] and "restore" in archived["detail"]
    admin.post("/workflows/old/restore")
    assert start(admin, "old").status_code == 201


def test_start_rejects_bad_bodies(admin: Client, db: Db) -> None:
    db.save(chain("w", 1))
    unknown = problem(start(admin, "w", {"input": {}, "colour": "blue"}), 400)
    assert "colour" in error_paths(unknown)
    for version in ("1", 0, 2**40, True):
        assert "version" in error_paths(problem(start(admin, "w", {"version": version}), 400))
    problem(start(admin, "w", [1, 2]), 400)
    not_json = admin.post(
        "/workflows/w/executions",
        content=b'{"input": ',
        headers={"content-type": "application/json"},
    )
    problem(not_json, 400)
    wrong_type = admin.post(
        "/workflows/w/executions", content=b"input=1", headers={"content-type": "text/plain"}
    )
    assert "application/json" in problem(wrong_type, 415)["detail"]
    nul = problem(start(admin, "w", {"input": {"text": "a\u0000b"}}), 400)
    assert "input" in error_paths(nul)
    assert "path.name" in error_paths(
        problem(admin.post("/workflows/w%00/executions", json={}), 400)
    )
    # A literal backslash followed by "u0000" is ordinary text.
    assert start(admin, "w", {"input": {"text": "\\u0000"}}).status_code == 201


def test_start_input_over_256_kib_is_413(admin: Client, db: Db) -> None:
    db.save(chain("w", 1))
    assert start(admin, "w", {"input": "x" * (256 * 1024 - 2)}).status_code == 201
    too_big = problem(start(admin, "w", {"input": "x" * (256 * 1024)}), 413)
    assert "262144" in too_big["detail"]


def test_start_needs_a_write_key(client: Client, api_keys: Keys, db: Db) -> None:
    db.save(chain("w", 1))
    assert client.post("/workflows/w/executions", json={}).status_code == 401
    denied = client.post("/workflows/w/executions", json={}, headers=auth(api_keys.read))
    assert "write" in problem(denied, 403)["detail"]
    allowed = client.post("/workflows/w/executions", json={}, headers=auth(api_keys.write))
    assert allowed.status_code == 201


# -- idempotency -----------------------------------------------------------------------------


def test_idempotency_key_repeats_answer_200_with_the_same_execution(admin: Client, db: Db) -> None:
    db.save(chain("w", 1))
    first = start(admin, "w", {"input": {"a": 1}}, **{"Idempotency-Key": "order-1"})
    assert first.status_code == 201
    again = start(admin, "w", {"input": {"a": 1}}, **{"Idempotency-Key": "order-1"})
    assert again.status_code == 200
    assert again.json() == {**first.json(), "created": False}
    assert again.headers["location"] == first.headers["location"]
    other_key = start(admin, "w", {"input": {"a": 1}}, **{"Idempotency-Key": "order-2"})
    assert other_key.status_code == 201 and other_key.json()["id"] != first.json()["id"]
    no_key = start(admin, "w", {"input": {"a": 1}})
    assert no_key.status_code == 201
    assert len(admin.get("/executions").json()["items"]) == 3


def test_idempotency_key_with_a_different_body_is_409(admin: Client, db: Db) -> None:
    db.save(chain("w", 1))
    start(admin, "w", {"input": {"a": 1}}, **{"Idempotency-Key": "k"})
    conflict = problem(start(admin, "w", {"input": {"a": 2}}, **{"Idempotency-Key": "k"}), 409)
    assert "'k'" in conflict["detail"] and "different" in conflict["detail"]


@pytest.mark.parametrize("key", ["", "k" * 256])
def test_idempotency_key_length_is_checked(admin: Client, db: Db, key: str) -> None:
    db.save(chain("w", 1))
    body = problem(start(admin, "w", {}, **{"Idempotency-Key": key}), 400)
    assert "header.Idempotency-Key" in error_paths(body)


def test_concurrent_repeats_start_exactly_one_execution(admin: Client, db: Db) -> None:
    db.save(chain("w", 3))
    barrier = threading.Barrier(8)
    answers: list[tuple[int, str]] = []

    def post() -> None:
        barrier.wait()
        response = start(admin, "w", {"input": {"n": 1}}, **{"Idempotency-Key": "same"})
        answers.append((response.status_code, response.json()["id"]))

    threads = [threading.Thread(target=post) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(code for code, _ in answers) == [200] * 7 + [201]
    assert len({execution_id for _, execution_id in answers}) == 1
    count = db.conn.execute("SELECT count(*) AS n FROM flowsync.executions").fetchone()
    assert count == {"n": 1}


# -- list ------------------------------------------------------------------------------------


def test_list_filters_and_orders_newest_first(admin: Client, db: Db) -> None:
    db.save(chain("a", 1))
    db.save(chain("b", 1))
    first = db.start("a", now=at(0))
    second = db.start("b", now=at(10))
    third = db.start("a", now=at(20))
    db.run_all(now=at(30))  # every execution succeeds
    fourth = db.start("a", now=at(40))

    def ids(**params: Any) -> list[str]:
        response = admin.get("/executions", params=params)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert ids() == [str(x) for x in (fourth, third, second, first)]
    assert ids(workflow="a") == [str(x) for x in (fourth, third, first)]
    assert ids(workflow="none") == []
    assert ids(status="queued") == [str(fourth)]
    assert ids(status="succeeded", workflow="b") == [str(second)]
    assert ids(created_after=at(10).isoformat()) == [str(x) for x in (fourth, third, second)]
    assert ids(created_before="2030-01-01T12:00:20Z") == [str(x) for x in (second, first)]
    assert ids(created_after="2030-01-01T13:00:05+01:00", created_before=at(40).isoformat()) == [
        str(third),
        str(second),
    ]
    item = admin.get("/executions", params={"status": "queued"}).json()["items"][0]
    assert item == {
        "id": str(fourth),
        "workflow": "a",
        "version": 1,
        "status": "queued",
        "created_at": "2030-01-01T12:00:40Z",
        "started_at": None,
        "finished_at": None,
        "idempotency_key": None,
    }


def test_list_paginates_with_a_cursor(admin: Client, db: Db) -> None:
    db.save(chain("w", 1))
    # Five executions, two of them at the same instant: the id breaks the tie.
    for seconds in (0, 1, 1, 2, 3):
        db.start("w", now=at(seconds))
    everything = [item["id"] for item in admin.get("/executions").json()["items"]]
    seen = [item["id"] for item in every_item(admin, "/executions", limit=2)]
    assert seen == everything and len(seen) == 5


def test_list_rejects_bad_filters(admin: Client) -> None:
    status = problem(admin.get("/executions", params={"status": "done"}), 400)
    assert "queued, running, succeeded, failed, cancelled" in status["detail"]
    assert "query.status" in error_paths(status)
    for name, value in (
        ("created_after", "yesterday"),
        ("created_after", "2030-01-01T12:00:00"),  # no offset
        ("created_before", "2030-13-01T00:00:00Z"),
        ("created_before", "0001-01-01T00:00:00+01:00"),  # before year 1 in UTC
    ):
        body = problem(admin.get("/executions", params={name: value}), 400)
        assert f"query.{name}" in error_paths(body), value
    for limit in (0, 501, "ten"):
        problem(admin.get("/executions", params={"limit": limit}), 400)
    for cursor in ("%%%", "bm90IGpzb24", "Im5vdCBhIGN1cnNvciI"):
        problem(admin.get("/executions", params={"cursor": cursor}), 400)
    problem(admin.get("/executions", params={"workflow": "a\u0000"}), 400)


def test_list_needs_a_key(client: Client, api_keys: Keys) -> None:
    assert client.get("/executions").status_code == 401
    assert client.get("/executions", headers=auth(api_keys.read)).status_code == 200


# -- one execution: detail, timeline, logs ---------------------------------------------------


def drive_with_a_retry(db: Db, key: str | None = None) -> UUID:
    """claim a → fail (retryable) → claim again → succeed (with logs) → b succeeds."""
    db.save(RETRYING)
    execution_id = db.start("retrying", {"order": 7}, key=key)
    (claim,) = db.claim(now=at(0))
    report(db, claim, at(0.5), kind="failed", error={"message": "boom"}, retryable=True)
    (claim,) = db.claim(now=at(1))
    logs = [
        {"at": at(1).isoformat(), "level": "info", "message": "calling", "fields": {"n": 1}},
        {"at": at(2).isoformat(), "level": "warning", "message": "slow", "fields": {}},
        {"at": at(2).isoformat(), "level": "info", "message": "done"},
    ]
    report(db, claim, at(2), kind="succeeded", output={"paid": True}, logs=logs)
    (claim,) = db.claim(now=at(3))
    report(db, claim, at(4), kind="succeeded", output="shipped")
    return execution_id


def test_detail_has_the_execution_and_its_steps(admin: Client, db: Db) -> None:
    execution_id = drive_with_a_retry(db)
    body = admin.get(f"/executions/{execution_id}").json()
    steps = body.pop("steps")
    assert body == {
        "id": str(execution_id),
        "workflow": "retrying",
        "version": 1,
        "status": "succeeded",
        "created_at": "2030-01-01T12:00:00Z",
        "started_at": "2030-01-01T12:00:00Z",
        "finished_at": "2030-01-01T12:00:04Z",
        "idempotency_key": None,
        "input": {"order": 7},
        "output": {"b": "shipped"},
        "error": None,
    }
    a, b = steps
    assert a == {
        "id": a["id"],
        "node_id": "a",
        "status": "succeeded",
        "attempts": 2,
        "output": {"paid": True},
        "error": None,
        "queued_at": "2030-01-01T12:00:00.500000Z",
        "started_at": "2030-01-01T12:00:01Z",
        "finished_at": "2030-01-01T12:00:02Z",
        "run_at": "2030-01-01T12:00:01Z",
        "worker_id": "w1",
    }
    assert (b["node_id"], b["attempts"], b["output"]) == ("b", 1, "shipped")


def test_detail_of_unknown_or_malformed_id(admin: Client) -> None:
    assert NO_SUCH_ID in problem(admin.get(f"/executions/{NO_SUCH_ID}"), 404)["detail"]
    for bad in ("not-a-uuid", "1234", "00000000-0000-0000-0000-00000000000g"):
        body = problem(admin.get(f"/executions/{bad}"), 400)
        assert "path.id" in error_paths(body)
        problem(admin.get(f"/executions/{bad}/timeline"), 400)
        problem(admin.post(f"/executions/{bad}/cancel"), 400)


def test_timeline_tells_the_story_in_order(admin: Client, db: Db) -> None:
    execution_id = drive_with_a_retry(db)
    items = admin.get(f"/executions/{execution_id}/timeline").json()["items"]
    assert items[0] == {
        "at": "2030-01-01T12:00:00Z",
        "event": "execution.created",
        "node_id": None,
        "attempt": None,
        "detail": {"version": 1},
    }
    assert items[-1]["event"] == "execution.succeeded"
    times = [datetime.fromisoformat(item["at"]) for item in items]
    assert times == sorted(times)
    story = [(i["event"], i["node_id"], i["attempt"]) for i in items if i["node_id"] == "a"]
    assert story == [
        ("step.queued", "a", None),
        ("step.started", "a", 1),
        ("step.retry", "a", 1),
        ("step.queued", "a", None),
        ("step.started", "a", 2),
        ("step.succeeded", "a", 2),
    ]
    retry = next(i for i in items if i["event"] == "step.retry")
    assert retry["detail"] == {"message": "boom"} and retry["at"] == "2030-01-01T12:00:00.500000Z"
    assert ("step.succeeded", "b", 1) in [(i["event"], i["node_id"], i["attempt"]) for i in items]
    problem(admin.get(f"/executions/{NO_SUCH_ID}/timeline"), 404)


def test_step_logs_page_in_order(admin: Client, db: Db) -> None:
    execution_id = drive_with_a_retry(db)
    url = f"/executions/{execution_id}/steps/a/logs"
    everything = admin.get(url).json()
    assert everything["next_cursor"] is None
    assert [(x["attempt"], x["level"], x["message"], x["fields"]) for x in everything["items"]] == [
        (2, "info", "calling", {"n": 1}),
        (2, "warning", "slow", {}),
        (2, "info", "done", {}),
    ]
    assert everything["items"][0]["at"] == "2030-01-01T12:00:01Z"
    first = admin.get(url, params={"limit": 2}).json()
    assert [x["message"] for x in first["items"]] == ["calling", "slow"]
    rest = admin.get(url, params={"limit": 2, "after": first["next_cursor"]}).json()
    assert [x["message"] for x in rest["items"]] == ["done"] and rest["next_cursor"] is None
    assert admin.get(f"/executions/{execution_id}/steps/b/logs").json() == {
        "items": [],
        "next_cursor": None,
    }


def test_step_logs_of_unknown_execution_or_node(admin: Client, db: Db) -> None:
    execution_id = drive_with_a_retry(db)
    assert "'zz'" in problem(admin.get(f"/executions/{execution_id}/steps/zz/logs"), 404)["detail"]
    problem(admin.get(f"/executions/{NO_SUCH_ID}/steps/a/logs"), 404)
    for params in ({"after": -1}, {"after": "x"}, {"after": 2**70}, {"limit": 0}):
        problem(admin.get(f"/executions/{execution_id}/steps/a/logs", params=params), 400)


# -- cancel and resume -----------------------------------------------------------------------


def test_cancel_a_running_execution(admin: Client, db: Db, api_keys: Keys) -> None:
    db.save(chain("w", 2))
    execution_id = db.start("w")
    db.claim()
    response = admin.post(f"/executions/{execution_id}/cancel", json={"reason": "wrong order"})
    assert response.status_code == 200
    assert response.json() == {"id": str(execution_id), "status": "cancelled"}
    assert set(db.statuses(execution_id).values()) == {"cancelled"}
    events = admin.get(f"/executions/{execution_id}/timeline").json()["items"]
    cancelled = [e["detail"] for e in events if e["event"] == "execution.cancelled"]
    assert {"reason": "wrong order", "actor": key_id(db, "admin")} in cancelled
    # Asking again changes nothing and says why.
    again = admin.post(f"/executions/{execution_id}/cancel")
    assert again.status_code == 409 and "'cancelled'" in again.json()["detail"]


def test_cancel_without_a_body_and_its_errors(client: Client, api_keys: Keys, db: Db) -> None:
    db.save(chain("w", 1))
    queued = db.start("w")
    url = f"/executions/{queued}/cancel"
    assert client.post(url).status_code == 401
    assert client.post(url, headers=auth(api_keys.read)).status_code == 403
    body = problem(client.post(url, json={"why": "x"}, headers=auth(api_keys.write)), 400)
    assert "why" in error_paths(body)
    problem(client.post(url, json={"reason": 5}, headers=auth(api_keys.write)), 400)
    assert client.post(url, headers=auth(api_keys.write)).json()["status"] == "cancelled"

    done = db.start("w")
    db.run_all()
    finished = problem(client.post(f"/executions/{done}/cancel", headers=auth(api_keys.write)), 409)
    assert "'succeeded'" in finished["detail"]
    problem(client.post(f"/executions/{NO_SUCH_ID}/cancel", headers=auth(api_keys.write)), 404)


def test_resume_a_failed_execution(admin: Client, db: Db) -> None:
    execution_id = failed_execution(db)
    response = admin.post(f"/executions/{execution_id}/resume")
    assert response.status_code == 200
    assert response.json() == {"id": str(execution_id), "status": "running"}
    assert db.statuses(execution_id) == {"s0": "queued", "s1": "pending"}
    events = admin.get(f"/executions/{execution_id}/timeline").json()["items"]
    assert {"steps": ["s0"], "actor": key_id(db, "admin")} in [
        e["detail"] for e in events if e["event"] == "execution.resumed"
    ]
    running = problem(admin.post(f"/executions/{execution_id}/resume"), 409)
    assert "'running'" in running["detail"]
    db.run_all()
    assert "'succeeded'" in problem(admin.post(f"/executions/{execution_id}/resume"), 409)["detail"]
    problem(admin.post(f"/executions/{NO_SUCH_ID}/resume"), 404)


def test_resume_needs_a_write_key(client: Client, api_keys: Keys, db: Db) -> None:
    execution_id = failed_execution(db)
    url = f"/executions/{execution_id}/resume"
    assert client.post(url).status_code == 401
    assert client.post(url, headers=auth(api_keys.read)).status_code == 403
    assert client.post(url, headers=auth(api_keys.write)).status_code == 200


# -- the CLI ---------------------------------------------------------------------------------


def test_cli_run_prints_the_new_execution_id(
    cli_db: str, db: Db, capsys: pytest.CaptureFixture[str]
) -> None:
    db.save(chain("w", 2))
    assert main(["run", "w", "--input", '{"order": 1}', "--idempotency-key", "k1"]) == 0
    execution_id = UUID(capsys.readouterr().out.strip())
    assert db.execution(execution_id)["input"] == {"order": 1}
    assert main(["run", "w", "--input", '{"order": 1}', "--idempotency-key", "k1"]) == 0
    repeat = capsys.readouterr()
    assert repeat.out.strip() == str(execution_id) and "already" in repeat.err
    assert main(["run", "w", "--version", "1"]) == 0
    assert db.execution(UUID(capsys.readouterr().out.strip()))["input"] == {}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "w", "--input", "{order: 1}"], "--input is not valid JSON"),
        (["run", "w", "--input", "[1,"], "--input is not valid JSON"),
        (["run", "nope"], 'workflow "nope" does not exist'),
        (["run", "w", "--version", "9"], "has no version 9"),
        (["run", "w", "--timeout", "5"], "needs --wait"),
        (["executions", "show", "xyz"], "not an execution id"),
        (["executions", "show", NO_SUCH_ID], "does not exist"),
    ],
)
def test_cli_errors_are_one_clear_line(
    cli_db: str, db: Db, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    db.save(chain("w", 1))
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert message in captured.err and captured.err.startswith("flowsync: ")
    assert captured.out == ""


def test_cli_executions_list_and_show(
    cli_db: str, db: Db, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["executions", "list"]) == 0
    assert capsys.readouterr().out == "no executions\n"
    finished = drive_with_a_retry(db)
    db.save(chain("other", 1))
    queued = db.start("other", now=at(60))

    assert main(["executions", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["ID", "WORKFLOW", "VERSION", "STATUS", "CREATED", "FINISHED"]
    assert lines[1].split()[:4] == [str(queued), "other", "1", "queued"]
    assert lines[2].split() == [
        str(finished),
        "retrying",
        "1",
        "succeeded",
        "2030-01-01",
        "12:00:00",
        "2030-01-01",
        "12:00:04",
    ]
    assert main(["executions", "list", "--status", "queued", "--limit", "5"]) == 0
    assert str(finished) not in capsys.readouterr().out

    assert main(["executions", "show", str(finished)]) == 0
    out = capsys.readouterr().out
    for expected in (
        str(finished),
        "retrying v1",
        "succeeded",
        '{"order":7}',
        '{"b":"shipped"}',
        "TIMELINE",
        "step.retry",
        '{"message":"boom"}',
        "execution.succeeded",
    ):
        assert expected in out, expected
    step_a = next(line for line in out.splitlines() if line.startswith("a "))
    assert step_a.split()[:4] == ["a", "succeeded", "2", "1.0s"]


# `run --wait` against executions already in a known state (the idempotency key makes `run`
# attach to them), so its plain output is exact; with a worker it is tested end to end.


def test_cli_run_wait_prints_progress_and_output(
    cli_db: str, db: Db, capsys: pytest.CaptureFixture[str]
) -> None:
    execution_id = drive_with_a_retry(db, key="k")
    argv = ["run", "retrying", "--input", '{"order": 7}', "--idempotency-key", "k", "--wait"]
    assert main(argv) == 0
    assert capsys.readouterr().out.splitlines() == [
        str(execution_id),
        "a: succeeded (attempt 2)",
        "b: succeeded (attempt 1)",
        f"execution {execution_id} succeeded",
        'output: {"b":"shipped"}',
    ]


def test_cli_run_wait_exits_1_when_the_execution_fails(
    cli_db: str, db: Db, capsys: pytest.CaptureFixture[str]
) -> None:
    execution_id = failed_execution(db, key="k")
    assert main(["run", "flaky", "--idempotency-key", "k", "--wait", "--timeout", "30"]) == 1
    *lines, error = capsys.readouterr().out.splitlines()
    assert lines == [
        str(execution_id),
        "s0: failed (attempt 1)",
        "s1: skipped",
        f"execution {execution_id} failed",
    ]
    assert error.startswith("error: {") and "s0" in error  # the engine's error, as JSON


def test_cli_run_wait_times_out_with_exit_2(
    cli_db: str, db: Db, capsys: pytest.CaptureFixture[str]
) -> None:
    db.save(chain("w", 2))
    assert main(["run", "w", "--wait", "--timeout", "0.3"]) == 2
    captured = capsys.readouterr()
    execution_id, *progress = captured.out.splitlines()
    assert progress == ["s0: queued"]
    assert f"timed out after 0.3s; execution {execution_id} is still queued" in captured.err


def test_start_refusals_name_the_field(admin: Client, db: Db) -> None:
    assert "path.name" in error_paths(problem(start(admin, "nope"), 404))
    db.save(chain("w", 1))
    assert "version" in error_paths(problem(start(admin, "w", {"version": 7}), 404))
    too_big = problem(start(admin, "w", {"input": "x" * (256 * 1024)}), 413)
    assert "input has 262146" in too_big["detail"]
