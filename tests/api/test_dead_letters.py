"""Dead letters over HTTP (list, replay) and their CLI."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID

import psycopg
import pytest
from litestar.testing import TestClient

from flowsync.api.execution_schemas import encode_keyset
from flowsync.cli import main
from tests.api.conftest import Keys, auth
from tests.api.paging import every_item
from tests.api.test_errors import problem
from tests.processes import wait_for
from tests.sql.conftest import Db, at

Client = TestClient  # type: ignore[type-arg]

PAIR = {
    "name": "pair",
    "nodes": [
        {"id": "a", "type": "noop", "retry": {"max_attempts": 1}},
        {"id": "b", "type": "noop", "retry": {"max_attempts": 1}},
        {"id": "after_a", "type": "noop", "depends_on": ["a"]},
    ],
}
TOLERANT = {
    "name": "tolerant",
    "nodes": [
        {"id": "optional", "type": "noop", "continue_on_failure": True},
        {"id": "main", "type": "noop"},
    ],
}


def both_dead(db: Db, now: float = 0) -> UUID:
    """An execution of PAIR whose a and b both used their only attempt."""
    execution_id = db.start("pair", now=at(now))
    for claim in sorted(db.claim(now=at(now)), key=lambda c: str(c["node_id"])):
        assert db.fail(claim, now=at(now + (1 if claim["node_id"] == "b" else 0))) == "ok"
    assert db.statuses(execution_id) == {"a": "dead", "b": "dead", "after_a": "skipped"}
    return execution_id


def dead_letters(client: Client, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/dead-letters", params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_list_newest_first_with_fields(admin: Client, db: Db) -> None:
    assert dead_letters(admin) == []
    db.save(PAIR)
    execution_id = both_dead(db)
    steps = db.steps(execution_id)
    items = dead_letters(admin)
    assert [item["node_id"] for item in items] == ["b", "a"]  # b finished a second later
    assert items[0] == {
        "step_id": steps["b"]["id"],
        "execution_id": str(execution_id),
        "workflow": "pair",
        "node_id": "b",
        "status": "dead",
        "attempts": 1,
        "error": {"message": "boom"},
        "finished_at": "2030-01-01T12:00:01Z",
    }


def test_list_filters_by_workflow_and_paginates(admin: Client, db: Db) -> None:
    db.save(PAIR)
    db.save({"name": "solo", "nodes": [{"id": "x", "type": "noop"}]})
    for seconds in (0, 10, 20):
        both_dead(db, now=seconds)
    solo = db.start("solo", now=at(30))
    db.fail(db.claim(now=at(30))[0], retryable=False)
    assert [i["execution_id"] for i in dead_letters(admin, workflow="solo")] == [str(solo)]
    assert len(dead_letters(admin, workflow="pair")) == 6
    assert dead_letters(admin, workflow="nothing") == []

    everything = [i["step_id"] for i in dead_letters(admin)]
    assert len(everything) == 7
    assert [i["step_id"] for i in every_item(admin, "/dead-letters", limit=3)] == everything


def test_list_rejects_bad_parameters(client: Client, api_keys: Keys) -> None:
    assert client.get("/dead-letters").status_code == 401
    read = auth(api_keys.read)
    assert client.get("/dead-letters", headers=read).status_code == 200
    for params in ({"limit": 0}, {"limit": 501}, {"cursor": "abc"}, {"workflow": "\u0000"}):
        problem(client.get("/dead-letters", params=params, headers=read), 400)
    # A cursor from the executions listing is not one of ours either.
    executions_cursor = encode_keyset(at(0), UUID(int=1))
    problem(client.get("/dead-letters", params={"cursor": executions_cursor}, headers=read), 400)


def test_replay_reruns_the_step_and_what_depends_on_it(admin: Client, db: Db) -> None:
    db.save(PAIR)
    execution_id = both_dead(db)
    step_a = db.steps(execution_id)["a"]["id"]
    response = admin.post(f"/dead-letters/{step_a}/replay")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "execution_id": str(execution_id),
        "step_id": step_a,
        "status": "running",
    }
    assert db.statuses(execution_id) == {"a": "queued", "b": "dead", "after_a": "pending"}
    assert [i["node_id"] for i in dead_letters(admin)] == ["b"]
    # Replaying it again: it is no longer a dead letter.
    problem(admin.post(f"/dead-letters/{step_a}/replay"), 404)

    # While the execution runs, b (still dead) cannot be replayed: the execution is not failed.
    step_b = db.steps(execution_id)["b"]["id"]
    running = problem(admin.post(f"/dead-letters/{step_b}/replay"), 409)
    assert "'running'" in running["detail"] and str(execution_id) in running["detail"]
    db.run_all(now=at(5))
    assert db.statuses(execution_id) == {"a": "succeeded", "b": "dead", "after_a": "succeeded"}
    assert admin.post(f"/dead-letters/{step_b}/replay").status_code == 200
    db.run_all(now=at(6))
    assert db.execution(execution_id)["status"] == "succeeded"
    events = admin.get(f"/executions/{execution_id}/timeline").json()["items"]
    assert [e["detail"]["steps"] for e in events if e["event"] == "execution.replayed"] == [
        ["a"],
        ["b"],
    ]


def test_replay_of_a_step_whose_execution_succeeded_is_409(admin: Client, db: Db) -> None:
    db.save(TOLERANT)
    execution_id = db.start("tolerant")
    for claim in db.claim():
        if claim["node_id"] == "optional":
            db.fail(claim, retryable=False)
        else:
            db.succeed(claim)
    assert db.execution(execution_id)["status"] == "succeeded"
    (dead,) = dead_letters(admin)
    body = problem(admin.post(f"/dead-letters/{dead['step_id']}/replay"), 409)
    assert "'succeeded'" in body["detail"] and "continue_on_failure" in body["detail"]


def test_replay_of_what_is_not_a_dead_letter_is_404(admin: Client, db: Db) -> None:
    db.save(TOLERANT)
    execution_id = db.start("tolerant")
    queued = db.steps(execution_id)["main"]["id"]
    for step_id in (queued, 999_999, 0, -1, 2**64):
        problem(admin.post(f"/dead-letters/{step_id}/replay"), 404)
    problem(admin.post("/dead-letters/abc/replay"), 404)


def test_replay_needs_a_write_key(client: Client, api_keys: Keys, db: Db) -> None:
    db.save(PAIR)
    execution_id = both_dead(db)
    url = f"/dead-letters/{db.steps(execution_id)['a']['id']}/replay"
    assert client.post(url).status_code == 401
    assert client.post(url, headers=auth(api_keys.read)).status_code == 403
    assert client.post(url, headers=auth(api_keys.write)).status_code == 200


# -- the CLI ---------------------------------------------------------------------------------


def test_cli_dead_letters_list_and_replay(
    cli_db: str, db: Db, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["dead-letters", "list"]) == 0
    assert capsys.readouterr().out == "no dead letters\n"
    db.save(PAIR)
    execution_id = both_dead(db)
    steps = db.steps(execution_id)

    assert main(["dead-letters", "list", "--workflow", "pair"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "STEP",
        "ID",
        "EXECUTION",
        "WORKFLOW",
        "NODE",
        "STATUS",
        "ATTEMPTS",
        "FINISHED",
        "ERROR",
    ]
    assert lines[1].split() == [
        str(steps["b"]["id"]),
        str(execution_id),
        "pair",
        "b",
        "dead",
        "1",
        "2030-01-01",
        "12:00:01",
        "boom",
    ]

    assert main(["dead-letters", "replay", str(steps["a"]["id"])]) == 0
    assert "running again" in capsys.readouterr().out
    assert db.statuses(execution_id)["a"] == "queued"
    assert main(["dead-letters", "replay", str(steps["a"]["id"])]) == 1
    assert "is not a dead letter" in capsys.readouterr().err
    assert main(["dead-letters", "replay", str(steps["b"]["id"])]) == 1
    assert "'running'" in capsys.readouterr().err


def test_replay_racing_another_replay_is_404(admin: Client, db: Db, database_dsn: str) -> None:
    db.save(PAIR)
    execution_id = both_dead(db)
    step_a = db.steps(execution_id)["a"]["id"]
    # A replay of the same step, not yet committed, holds the execution's lock meanwhile.
    with psycopg.connect(database_dsn) as first, ThreadPoolExecutor(1) as threads:
        first.execute("SELECT flowsync.resume_execution(%s, %s)", (execution_id, [step_a]))
        second = threads.submit(admin.post, f"/dead-letters/{step_a}/replay")
        try:
            wait_for(lambda: db.lock_waiters() >= 1, 20, "the replay to wait for the lock")
        finally:
            first.commit()
        body = problem(second.result(), 404)
    assert body["detail"] == f"step {step_a} is not a dead letter"
    assert db.statuses(execution_id)["a"] == "queued"
