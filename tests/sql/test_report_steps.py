"""report_steps (complete/fail/snooze), guarded by the lease token; chains hand off directly."""

from __future__ import annotations

from psycopg.types.json import Jsonb

from tests.sql.conftest import T0, Db, at, chain


def test_success_finishes_a_single_step_execution(db: Db) -> None:
    db.save(chain("one", 1))
    execution_id = db.start("one")
    (claim,) = db.claim()
    assert db.succeed(claim, {"done": True}) == "ok"
    step = db.steps(execution_id)["s0"]
    assert step["status"] == "succeeded" and step["output"] == {"done": True}
    assert step["finished_at"] is not None and db.leases() == {}
    execution = db.execution(execution_id)
    assert execution["status"] == "succeeded"
    assert execution["output"] == {"s0": {"done": True}}
    assert execution["steps_open"] == 0


def test_stale_token_is_rejected_and_changes_nothing(db: Db) -> None:
    db.save(chain("one", 1))
    execution_id = db.start("one")
    (claim,) = db.claim()
    before = db.steps(execution_id)
    stale = {**claim, "lease_token": "00000000-0000-0000-0000-000000000001"}
    assert db.succeed(stale, "zombie") == "stale"
    assert db.fail(stale) == "stale"
    assert db.steps(execution_id) == before
    assert db.execution(execution_id)["status"] == "running"


def test_duplicate_completion_is_a_no_op(db: Db) -> None:
    db.save(chain("two", 2))
    execution_id = db.start("two")
    (claim,) = db.claim()
    assert db.succeed(claim, 1) == "ok"
    after_first = db.steps(execution_id)
    assert db.succeed(claim, 2) == "duplicate"
    assert db.steps(execution_id) == after_first
    assert len(db.jobs()) == 1, "the next step was queued once"


def test_a_mixed_batch_takes_each_report_on_its_own_merits(db: Db) -> None:
    db.save(chain("one", 1))
    ids = [db.start("one") for _ in range(4)]
    done, stale, duplicate, failing = db.claim(limit=4)
    assert db.succeed(duplicate) == "ok"
    reports = [
        {
            "step_id": failing["step_id"],
            "token": failing["lease_token"],
            "kind": "failed",
            "error": {"message": "boom"},
            "retryable": False,
        },
        {"step_id": duplicate["step_id"], "token": duplicate["lease_token"], "kind": "succeeded"},
        {
            "step_id": stale["step_id"],
            "token": "00000000-0000-0000-0000-000000000001",
            "kind": "succeeded",
        },
        {
            "step_id": done["step_id"],
            "token": done["lease_token"],
            "kind": "succeeded",
            "output": 7,
        },
        {"step_id": 0, "token": done["lease_token"], "kind": "succeeded"},
    ]
    rows = db.report(reports)
    assert {r["step_id"]: r["result"] for r in rows} == {
        0: "unknown",
        done["step_id"]: "ok",
        stale["step_id"]: "stale",
        duplicate["step_id"]: "duplicate",
        failing["step_id"]: "ok",
    }
    assert [db.execution(i)["status"] for i in ids] == [
        "succeeded",
        "running",
        "succeeded",
        "failed",
    ]
    assert db.steps(ids[0])["s0"]["output"] == 7
    assert list(db.leases()) == [stale["step_id"]]  # only the attempt still running holds one


def test_completion_hands_the_next_step_to_the_same_worker(db: Db) -> None:
    db.save(chain("c", 3))
    execution_id = db.start("c")
    (claim,) = db.claim()
    rows = db.report(
        [{"step_id": claim["step_id"], "token": claim["lease_token"], "kind": "succeeded"}],
        limit=5,
    )
    assert [r["result"] for r in rows] == ["ok", "claimed"]
    handed = rows[1]
    assert handed["node_id"] == "s1" and handed["upstream"] == {"s0": {"output": None}}
    assert db.steps(execution_id)["s1"]["status"] == "running"
    assert db.jobs() == [], "a handed-off step never goes through the job table"


def test_hand_off_respects_queue_and_limit(db: Db) -> None:
    db.save(
        {
            "name": "fan",
            "nodes": [
                {"id": "root", "type": "noop"},
                *[{"id": f"d{i}", "type": "noop", "depends_on": ["root"]} for i in range(4)],
                {"id": "mail", "type": "noop", "depends_on": ["root"], "queue": "emails"},
            ],
        }
    )
    db.start("fan")
    (claim,) = db.claim()
    rows = db.report(
        [{"step_id": claim["step_id"], "token": claim["lease_token"], "kind": "succeeded"}],
        limit=3,
    )
    assert len([r for r in rows if r["result"] == "claimed"]) == 3
    assert sorted(j["queue"] for j in db.jobs()) == ["default", "emails"]


def test_retryable_failure_requeues_with_backoff(db: Db) -> None:
    db.save(
        {
            "name": "r",
            "nodes": [
                {
                    "id": "a",
                    "type": "noop",
                    "retry": {"max_attempts": 3, "initial": "2s", "max": "1m", "jitter": False},
                },
            ],
        }
    )
    execution_id = db.start("r")
    (claim,) = db.claim(now=at(0))
    assert db.fail(claim, now=at(0)) == "ok"
    step = db.steps(execution_id)["a"]
    assert step["status"] == "queued" and step["error"] == {"message": "boom"}
    assert db.jobs()[0]["run_at"] == at(2)
    assert db.claim(now=at(1)) == []
    (second,) = db.claim(now=at(2))
    assert second["attempt"] == 2
    assert db.fail(second, now=at(2)) == "ok"
    assert db.jobs()[0]["run_at"] == at(6), "exponential: 2s, then 4s"
    (third,) = db.claim(now=at(6))
    assert db.fail(third, now=at(6)) == "ok"
    assert db.steps(execution_id)["a"]["status"] == "dead"
    execution = db.execution(execution_id)
    assert execution["status"] == "failed"
    assert execution["error"]["steps"][0]["node_id"] == "a"
    outcomes = db.conn.execute(
        "SELECT attempt, outcome FROM flowsync.step_attempts ORDER BY id"
    ).fetchall()
    assert [(o["attempt"], o["outcome"]) for o in outcomes] == [
        (1, "retry"),
        (2, "retry"),
        (3, "dead"),
    ]


def test_retry_after_is_honoured(db: Db) -> None:
    db.save(
        {
            "name": "r",
            "nodes": [{"id": "a", "type": "noop", "retry": {"initial": "1s", "jitter": False}}],
        }
    )
    db.start("r")
    (claim,) = db.claim(now=at(0))
    db.report(
        [
            {
                "step_id": claim["step_id"],
                "token": claim["lease_token"],
                "kind": "failed",
                "error": {},
                "retryable": True,
                "retry_after_ms": 30_000,
            }
        ],
        now=at(0),
    )
    assert db.jobs()[0]["run_at"] == at(30)


def test_permanent_failure_fails_without_retry(db: Db) -> None:
    db.save(chain("p", 2))
    execution_id = db.start("p")
    (claim,) = db.claim()
    assert db.fail(claim, retryable=False) == "ok"
    assert db.statuses(execution_id) == {"s0": "failed", "s1": "skipped"}
    assert db.execution(execution_id)["status"] == "failed"


def test_continue_on_failure_lets_the_execution_succeed(db: Db) -> None:
    db.save(
        {
            "name": "c",
            "nodes": [
                {"id": "flaky", "type": "noop", "continue_on_failure": True},
                {"id": "after", "type": "noop", "depends_on": ["flaky"], "join": "all_done"},
            ],
        }
    )
    execution_id = db.start("c")
    db.fail(db.claim()[0], retryable=False)
    db.run_all()
    assert db.statuses(execution_id) == {"flaky": "failed", "after": "succeeded"}
    assert db.execution(execution_id)["status"] == "succeeded"


def test_snooze_is_a_durable_timer_that_keeps_the_attempt(db: Db) -> None:
    db.save({"name": "d", "nodes": [{"id": "wait", "type": "delay", "config": {"duration": "1m"}}]})
    execution_id = db.start("d")
    (claim,) = db.claim(now=at(0))
    rows = db.report(
        [
            {
                "step_id": claim["step_id"],
                "token": claim["lease_token"],
                "kind": "snoozed",
                "until": at(60).isoformat(),
                "state": {"until": at(60).isoformat()},
            }
        ],
        now=at(0),
    )
    assert rows[0]["result"] == "ok"
    step = db.steps(execution_id)["wait"]
    assert step["status"] == "queued" and step["attempt"] == 0
    assert db.claim(now=at(59)) == []
    (again,) = db.claim(now=at(60))
    assert again["state"] == {"until": at(60).isoformat()} and again["attempt"] == 1


def test_logs_are_stored_with_the_report(db: Db) -> None:
    db.save(chain("one", 1))
    execution_id = db.start("one")
    (claim,) = db.claim()
    db.report(
        [
            {
                "step_id": claim["step_id"],
                "token": claim["lease_token"],
                "kind": "succeeded",
                "logs": [
                    {
                        "at": at(0).isoformat(),
                        "level": "info",
                        "message": "hello",
                        "fields": {"n": 1},
                    }
                ],
            }
        ]
    )
    logs = db.conn.execute("SELECT * FROM flowsync.step_logs").fetchall()
    assert [(x["execution_id"], x["message"], x["fields"], x["attempt"]) for x in logs] == [
        (execution_id, "hello", {"n": 1}, 1)
    ]


def test_a_report_fills_the_free_slots_from_the_job_table(db: Db) -> None:
    db.save(chain("c", 2))
    db.save(chain("one", 1))
    db.start("c")
    for _ in range(3):
        db.start("one")
    (first,) = db.claim(limit=1)
    rows = db.report(
        [{"step_id": first["step_id"], "token": first["lease_token"], "kind": "succeeded"}],
        limit=3,
    )
    claimed = [r for r in rows if r["result"] == "claimed"]
    # The step the report made ready comes first, then due jobs, three in all.
    assert [r["workflow"] for r in claimed] == ["c", "one", "one"]
    assert len(db.jobs()) == 1


def test_a_report_without_top_up_takes_only_the_steps_it_made_ready(db: Db) -> None:
    db.save(chain("c", 2))
    db.save(chain("one", 1))
    db.start("c")
    (first,) = db.claim(limit=1)
    db.start("one")
    rows = db.report(
        [{"step_id": first["step_id"], "token": first["lease_token"], "kind": "succeeded"}],
        limit=3,
        top_up=False,
    )
    assert [(r["result"], r["workflow"]) for r in rows] == [("ok", None), ("claimed", "c")]
    assert len(db.jobs()) == 1  # the due job stays for a claim
    # A rejected report (nothing made ready) does not look at the job table either.
    rows = db.report(
        [{"step_id": first["step_id"], "token": first["lease_token"], "kind": "succeeded"}],
        limit=3,
        top_up=False,
    )
    assert [r["result"] for r in rows] == ["duplicate"] and len(db.jobs()) == 1


def test_a_report_without_queues_queues_the_next_step_as_a_job(db: Db) -> None:
    db.save(chain("two", 2))
    execution_id = db.start("two")
    (claim,) = db.claim()
    report = {"step_id": claim["step_id"], "token": str(claim["lease_token"]), "kind": "succeeded"}
    rows = db.conn.execute(
        "SELECT * FROM flowsync.report_steps('w1', %s, NULL, 5, 30000, %s)", (Jsonb([report]), T0)
    ).fetchall()
    assert [r["result"] for r in rows] == ["ok"]
    assert db.statuses(execution_id) == {"s0": "succeeded", "s1": "queued"}
    assert [j["step_id"] for j in db.jobs()] == [db.steps(execution_id)["s1"]["id"]]
