"""docs/state-machine.md is true: every documented transition happens, nothing else does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from flowsync.states import ExecutionStatus, StepStatus
from tests.sql.conftest import Db, at, chain

DOC = Path(__file__).resolve().parents[2] / "docs" / "state-machine.md"
ALIASES = {
    "complete_step": "report_steps",
    "fail_step": "report_steps",
    "start_execution_ex": "start_execution",
    "start_executions": "start_execution",
    "start_executions_ex": "start_execution",
}
SIDE = ("side",)  # a queue of the last scenarios alone: no step left over from before is on it

OBSERVER = """
CREATE TABLE public.observed (kind text, from_status text, to_status text, query text);
CREATE FUNCTION public.observe() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.observed VALUES (
        TG_ARGV[0], CASE WHEN TG_OP = 'INSERT' THEN '(none)' ELSE OLD.status::text END,
        NEW.status::text, current_query());
    RETURN NEW;
END $$;
CREATE TRIGGER observe_step_insert AFTER INSERT ON flowsync.steps
    FOR EACH ROW EXECUTE FUNCTION public.observe('step');
CREATE TRIGGER observe_step_update AFTER UPDATE OF status ON flowsync.steps
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION public.observe('step');
CREATE TRIGGER observe_execution_update AFTER UPDATE OF status ON flowsync.executions
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION public.observe('execution');
"""


def documented() -> set[tuple[str, str, str, str]]:
    rows: set[tuple[str, str, str, str]] = set()
    kind = ""
    for line in DOC.read_text().splitlines():
        if line.startswith("## "):
            kind = line[3:].strip().lower()
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if kind and len(cells) == 4 and cells[0] not in ("from", "---"):
            rows.add((kind, cells[0], cells[1], cells[2]))
    return rows


def observed(db: Db) -> set[tuple[str, str, str, str]]:
    found = set()
    for row in db.conn.execute("SELECT * FROM public.observed").fetchall():
        match = re.search(r"flowsync\.(\w+)\s*\(", row["query"])
        assert match, row["query"]
        function = ALIASES.get(match.group(1), match.group(1))
        found.add((row["kind"], row["from_status"], row["to_status"], function))
    return found


def run_scenarios(db: Db) -> None:
    """Drive executions through every documented transition."""
    fast = {"max_attempts": 2, "initial": "1s", "jitter": False}
    db.save(
        {
            "name": "flow",
            "nodes": [
                {"id": "check", "type": "condition", "config": {"expr": "true"}, "retry": fast},
                {
                    "id": "yes",
                    "type": "noop",
                    "depends_on": [{"node": "check", "when": True}],
                    "retry": fast,
                },
                {"id": "no", "type": "noop", "depends_on": [{"node": "check", "when": False}]},
            ],
        }
    )
    db.save(chain("pair", 2, retry=fast))

    # Success with a hand-off, a branch skipped, a retry and a snooze on the way.
    db.start("flow")
    (check,) = db.claim(now=at(0))
    rows = db.report(
        [
            {
                "step_id": check["step_id"],
                "token": check["lease_token"],
                "kind": "succeeded",
                "outcome": True,
            }
        ],
        limit=1,
        now=at(0),
    )
    (handed,) = [r for r in rows if r["result"] == "claimed"]  # "yes", straight to us
    db.report(
        [
            {
                "step_id": handed["step_id"],
                "token": handed["lease_token"],
                "kind": "snoozed",
                "until": at(1).isoformat(),
                "state": {},
            }
        ],
        now=at(0),
    )
    (yes,) = db.claim(now=at(1))
    db.fail(yes, now=at(1))  # retry
    (yes,) = db.claim(now=at(10))
    db.succeed(yes)

    # A permanent failure skips downstream; resume runs it again; a dead one is replayed.
    e2 = db.start("pair")
    db.fail(db.claim(now=at(0))[0], retryable=False)
    db.conn.execute("SELECT flowsync.resume_execution(%s)", (e2,))
    (first,) = db.claim(now=at(0))
    db.fail(first)
    (first,) = db.claim(now=at(100))
    db.fail(first)  # out of attempts: dead
    db.conn.execute("SELECT flowsync.resume_execution(%s)", (e2,))
    db.run_all(now=at(200))

    # Leases: one rescued to the queue, then dead; its dependent is skipped.
    e3 = db.start("pair")
    db.claim(lease_ms=1000, now=at(0))
    db.conn.execute("SELECT flowsync.rescue_expired_leases(100, %s)", (at(2),))
    db.claim(lease_ms=1000, now=at(10))
    db.conn.execute("SELECT flowsync.rescue_expired_leases(100, %s)", (at(20),))
    assert db.statuses(e3) == {"s0": "dead", "s1": "skipped"}
    # Resume after the lease death; the dependent then runs via rescue-driven settle.
    db.conn.execute("SELECT flowsync.resume_execution(%s)", (e3,))
    db.claim(lease_ms=1000, now=at(30))
    db.conn.execute("SELECT flowsync.rescue_expired_leases(100, %s)", (at(40),))
    db.claim(lease_ms=1000, now=at(50))
    db.conn.execute("SELECT flowsync.rescue_expired_leases(100, %s)", (at(60),))

    # A successful upstream, then the dependent's lease dies: pending -> queued via rescue.
    db.save(
        {
            "name": "trio",
            "nodes": [
                {"id": "a", "type": "noop", "retry": {"max_attempts": 1}},
                {"id": "b", "type": "noop", "depends_on": ["a"], "join": "all_done"},
            ],
        }
    )
    e4 = db.start("trio")
    db.claim(lease_ms=1000, now=at(0))
    db.conn.execute("SELECT flowsync.rescue_expired_leases(100, %s)", (at(5),))
    assert db.statuses(e4) == {"a": "dead", "b": "queued"}

    # Hand-back, then cancel of pending, queued and running steps.
    db.save(
        {
            "name": "wide",
            "nodes": [
                {"id": "a", "type": "noop"},
                {"id": "b", "type": "noop"},
                {"id": "c", "type": "noop", "depends_on": ["a", "b"]},
            ],
        }
    )
    e5 = db.start("wide")
    (a,) = db.claim(limit=1, now=at(0))
    db.conn.execute(
        "SELECT flowsync.release_steps('w1', %s, %s, %s)",
        ([a["step_id"]], [a["lease_token"]], at(0)),
    )
    db.claim(limit=1, now=at(0))
    db.conn.execute("SELECT flowsync.cancel_execution(%s)", (e5,))
    e6 = db.start("wide")
    db.conn.execute("SELECT flowsync.cancel_execution(%s)", (e6,))

    # Replay of one of two failures: the join below them is skipped again at once.
    db.save(
        {
            "name": "two",
            "nodes": [
                {"id": "x", "type": "noop"},
                {"id": "y", "type": "noop"},
                {"id": "both", "type": "noop", "depends_on": ["x", "y"]},
            ],
        }
    )
    e7 = db.start("two")
    for claim in db.claim(now=at(0)):
        db.fail(claim, retryable=False)
    x_id = db.steps(e7)["x"]["id"]
    db.conn.execute("SELECT flowsync.resume_execution(%s, %s)", (e7, [x_id]))
    assert db.statuses(e7) == {"x": "queued", "y": "failed", "both": "skipped"}

    db.conn.execute("SELECT * FROM flowsync.start_executions('flow', '[{}, {}]')")
    top_up_starts_an_execution(db)
    unknown_lease_handed_back(db)
    tolerated_lease_death_succeeds(db)


def top_up_starts_an_execution(db: Db) -> None:
    """A report's top-up claim takes the first step of a queued execution and starts it."""
    db.save({"name": "solo", "nodes": [{"id": "a", "type": "noop", "queue": "side"}]})
    first, second = db.start("solo"), db.start("solo")
    (claim,) = db.claim(queues=SIDE, limit=1)
    report = {"step_id": claim["step_id"], "token": claim["lease_token"], "kind": "succeeded"}
    rows = db.report([report], queues=SIDE, limit=1)
    assert [r["result"] for r in rows] == ["ok", "claimed"]
    assert db.execution(first)["status"] == "succeeded"
    assert db.execution(second)["status"] == "running"
    assert db.succeed(rows[1]) == "ok"


def unknown_lease_handed_back(db: Db) -> None:
    """A step leased to a worker that does not know it is handed back."""
    execution_id = db.start("solo")
    db.claim(worker="w2", queues=SIDE)
    db.conn.execute("SELECT flowsync.release_unknown_steps('w2', '{}', %s)", (at(0),))
    assert db.statuses(execution_id) == {"a": "queued"}


def tolerated_lease_death_succeeds(db: Db) -> None:
    """The last step dies on an expired lease, but its failure is tolerated."""
    db.save(
        {
            "name": "optional",
            "nodes": [
                {
                    "id": "a",
                    "type": "noop",
                    "queue": "tolerant",
                    "continue_on_failure": True,
                    "retry": {"max_attempts": 1},
                }
            ],
        }
    )
    execution_id = db.start("optional")
    db.claim(queues=("tolerant",), lease_ms=1000, now=at(0))
    db.conn.execute("SELECT flowsync.rescue_expired_leases(100, %s)", (at(2),))
    assert db.statuses(execution_id) == {"a": "dead"}
    assert db.execution(execution_id)["status"] == "succeeded"


@pytest.fixture
def observed_db(db: Db) -> Db:
    db.conn.execute(OBSERVER)
    return db


def test_every_documented_transition_happens_and_nothing_else(observed_db: Db) -> None:
    run_scenarios(observed_db)
    seen = observed(observed_db)
    doc = documented()
    assert seen - doc == set(), "transitions that happen but are not documented"
    assert doc - seen == set(), "documented transitions the scenarios never caused"
    # Kept by the functions, not by a constraint: a lease row exactly for each running step.
    running = observed_db.conn.execute(
        "SELECT id FROM flowsync.steps WHERE status = 'running' ORDER BY id"
    ).fetchall()
    assert sorted(observed_db.leases()) == [r["id"] for r in running]


def test_python_enums_equal_the_sql_enums(db: Db) -> None:
    for enum, sql_type in ((ExecutionStatus, "execution_status"), (StepStatus, "step_status")):
        rows = db.conn.execute(
            "SELECT enumlabel FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid "
            "JOIN pg_namespace n ON n.oid = t.typnamespace "
            "WHERE n.nspname = 'flowsync' AND t.typname = %s ORDER BY e.enumsortorder",
            (sql_type,),
        ).fetchall()
        assert [r["enumlabel"] for r in rows] == [member.value for member in enum]
