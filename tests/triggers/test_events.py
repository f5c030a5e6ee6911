"""Events: type patterns and filters, transactional emit_event, each event id processed once."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
import pytest
from litestar.testing import TestClient
from psycopg.types.json import Jsonb

from flowsync.triggers.events import process_pending_events
from tests.sql.conftest import Db
from tests.triggers.conftest import executions, fires, pool_for, with_pool

Client = TestClient  # type: ignore[type-arg]


def event_trigger(admin: Client, pattern: str, **config: Any) -> str:
    mapping = config.pop("input_mapping", None)
    response = admin.post(
        "/triggers",
        json={
            "workflow": "wf",
            "kind": "event",
            "config": {"type": pattern, **config},
            "input_mapping": mapping,
        },
    )
    assert response.status_code == 201, response.text
    trigger_id: str = response.json()["id"]
    return trigger_id


def process(dsn: str) -> int:
    return with_pool(dsn, lambda pool: process_pending_events(pool))


def test_patterns_and_filters_pick_the_triggers(admin: Client, db: Db) -> None:
    exact = event_trigger(admin, "orders.paid")
    prefix = event_trigger(
        admin, "orders.*", input_mapping="{'id': event.id, 'total': payload.total}"
    )
    every = event_trigger(admin, "*")
    event_trigger(admin, "orders.refunded")
    event_trigger(admin, "shipping.*")
    event_trigger(admin, "orders.paid.late")
    big = event_trigger(admin, "orders.paid", filter="payload.total > 100")
    event_trigger(admin, "orders.paid", filter="payload.total > 1000")
    event_trigger(admin, "orders.paid", filter="payload.missing > 1")  # fails: no match

    response = admin.post(
        "/events", json={"type": "orders.paid", "id": "ev-1", "payload": {"total": 500}}
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["id"] == "ev-1" and body["duplicate"] is False
    fired = {str(f["trigger_id"]): f for f in fires(db)}
    assert set(fired) == {exact, prefix, every, big}
    assert sorted(body["executions"]) == sorted(str(f["execution_id"]) for f in fired.values())
    inputs = {str(r["id"]): r["input"] for r in executions(db)}
    assert inputs[str(fired[prefix]["execution_id"])] == {"id": "ev-1", "total": 500}
    assert inputs[str(fired[exact]["execution_id"])] == {"total": 500}

    # 'orders.*' matches below "orders." only.
    for other in ("orders", "ordersx.paid"):
        assert admin.post("/events", json={"type": other}).status_code == 202
    assert len(fires(db)) == 4 + 2  # only "*" fired for those two


def test_repeated_event_id_is_processed_once(admin: Client, db: Db, database_dsn: str) -> None:
    event_trigger(admin, "a.b")
    first = admin.post("/events", json={"type": "a.b", "id": "same", "payload": {"n": 1}})
    again = admin.post("/events", json={"type": "a.b", "id": "same", "payload": {"n": 2}})
    assert first.status_code == 202 and again.status_code == 200, again.text
    assert again.json() == {
        "id": "same",
        "duplicate": True,
        "executions": first.json()["executions"],
    }
    db.conn.execute("SELECT flowsync.emit_event('a.b', '{}', 'same')")
    assert process(database_dsn) == 0
    assert len(executions(db)) == 1


def test_emit_event_in_a_rolled_back_transaction_starts_nothing(
    admin: Client, db: Db, database_dsn: str
) -> None:
    event_trigger(admin, "orders.*")
    with psycopg.connect(database_dsn) as conn:  # a transaction of "another application"
        conn.execute("SELECT flowsync.emit_event('orders.paid', %s)", (Jsonb({"n": 1}),))
        conn.rollback()
    assert process(database_dsn) == 0
    assert db.conn.execute("SELECT count(*) AS n FROM flowsync.events").fetchone() == {"n": 0}
    with psycopg.connect(database_dsn) as conn:
        conn.execute("SELECT flowsync.emit_event('orders.paid', %s, id => 'x')", (Jsonb({}),))
        assert process(database_dsn) == 0  # not committed yet: invisible
        conn.commit()
    assert process(database_dsn) == 1
    assert process(database_dsn) == 0
    assert len(executions(db)) == 1


def test_concurrent_processors_share_events_and_process_each_once(
    admin: Client, db: Db, database_dsn: str
) -> None:
    event_trigger(admin, "tick")
    for i in range(250):
        db.conn.execute("SELECT flowsync.emit_event('tick', %s, %s)", (Jsonb({"i": i}), f"e{i}"))

    async def run() -> list[int]:
        async with pool_for(database_dsn) as pool:
            return list(await asyncio.gather(*(process_pending_events(pool) for _ in range(4))))

    assert sum(asyncio.run(run())) == 250
    assert sorted(r["input"]["i"] for r in executions(db)) == list(range(250))
    pending = db.conn.execute(
        "SELECT count(*) AS n FROM flowsync.events WHERE processed_at IS NULL"
    ).fetchone()
    assert pending == {"n": 0}


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"type": "bad type"}, "type"),
        ({"type": "a..b"}, "type"),
        ({"type": "a", "id": ""}, "id"),
        ({"type": "a", "id": "x" * 201}, "id"),
        ({"type": "a", "payload": {"s": "\u0000"}}, "payload"),
        ({"type": "a", "extra": 1}, "extra"),
        ({"id": "x"}, "type"),
    ],
)
def test_bad_events_are_400(admin: Client, db: Db, body: Any, path: str) -> None:
    response = admin.post("/events", json=body)
    assert response.status_code == 400, response.text
    assert [e["path"] for e in response.json()["errors"]] == [path]


def test_emit_event_checks_its_arguments(db: Db) -> None:
    with pytest.raises(psycopg.Error, match="invalid event type"):
        db.conn.execute("SELECT flowsync.emit_event('no spaces', '{}')")
    row = db.conn.execute("SELECT flowsync.emit_event('ok.type') AS id").fetchone()
    assert row is not None and len(row["id"]) == 36  # a generated uuid
