"""Join rules, condition branches, skip propagation, fan-out/fan-in, output mappings."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sql.conftest import Db


def if_else(merge_join: str = "one_success") -> dict[str, Any]:
    return {
        "name": "branch",
        "nodes": [
            {"id": "check", "type": "condition", "config": {"expr": "input.big"}},
            {"id": "yes", "type": "noop", "depends_on": [{"node": "check", "when": True}]},
            {"id": "yes2", "type": "noop", "depends_on": ["yes"]},
            {"id": "yes3", "type": "noop", "depends_on": ["yes2"]},
            {"id": "no", "type": "noop", "depends_on": [{"node": "check", "when": False}]},
            {"id": "no2", "type": "noop", "depends_on": ["no"]},
            {"id": "merge", "type": "noop", "depends_on": ["yes3", "no2"], "join": merge_join},
        ],
    }


@pytest.mark.parametrize("big", [True, False])
def test_if_else_skips_the_branch_not_taken_through_two_levels(db: Db, big: bool) -> None:
    db.save(if_else())
    execution_id = db.start("branch", {"big": big})
    db.run_all({"check:outcome": big})
    taken, other = ("yes", "no") if big else ("no", "yes")
    statuses = db.statuses(execution_id)
    assert statuses[taken] == "succeeded"
    assert statuses[other] == "skipped"
    assert statuses[f"{other}2"] == "skipped"
    assert statuses["merge"] == "succeeded"
    assert db.execution(execution_id)["status"] == "succeeded"


def test_all_success_join_skips_when_a_branch_was_skipped(db: Db) -> None:
    db.save(if_else("all_success"))
    execution_id = db.start("branch", {"big": True})
    db.run_all({"check:outcome": True})
    assert db.statuses(execution_id)["merge"] == "skipped"
    assert db.execution(execution_id)["status"] == "succeeded"


def test_string_outcomes_select_switch_branches(db: Db) -> None:
    db.save(
        {
            "name": "sw",
            "nodes": [
                {"id": "kind", "type": "condition", "config": {"expr": "input.kind"}},
                *[
                    {"id": k, "type": "noop", "depends_on": [{"node": "kind", "when": k}]}
                    for k in ("a", "b", "c")
                ],
            ],
        }
    )
    execution_id = db.start("sw")
    db.run_all({"kind:outcome": "b"})
    assert db.statuses(execution_id) == {
        "kind": "succeeded",
        "a": "skipped",
        "b": "succeeded",
        "c": "skipped",
    }


def join_of(rule: str) -> dict[str, Any]:
    return {
        "name": "j",
        "nodes": [
            {"id": "ok", "type": "noop"},
            {"id": "bad", "type": "noop", "continue_on_failure": True},
            {"id": "slow", "type": "noop"},
            {"id": "join", "type": "noop", "depends_on": ["ok", "bad", "slow"], "join": rule},
        ],
    }


def run_join(db: Db, rule: str, fail_bad: bool) -> tuple[str, list[str]]:
    """ok succeeds, bad fails (or succeeds), slow succeeds last; report join's state after each."""
    db.save(join_of(rule))
    execution_id = db.start("j")
    claims = {c["node_id"]: c for c in db.claim()}
    seen = []
    db.succeed(claims["ok"])
    seen.append(db.statuses(execution_id)["join"])
    if fail_bad:
        db.fail(claims["bad"], retryable=False)
    else:
        db.succeed(claims["bad"])
    seen.append(db.statuses(execution_id)["join"])
    db.succeed(claims["slow"])
    seen.append(db.statuses(execution_id)["join"])
    db.run_all()
    return db.statuses(execution_id)["join"], seen


@pytest.mark.parametrize(
    ("rule", "fail_bad", "final", "seen"),
    [
        ("all_success", False, "succeeded", ["pending", "pending", "queued"]),
        ("all_success", True, "skipped", ["pending", "skipped", "skipped"]),
        ("one_success", True, "succeeded", ["queued", "queued", "queued"]),
        ("all_done", True, "succeeded", ["pending", "pending", "queued"]),
        ("none_failed", False, "succeeded", ["pending", "pending", "queued"]),
        ("none_failed", True, "skipped", ["pending", "skipped", "skipped"]),
    ],
)
def test_join_rules(db: Db, rule: str, fail_bad: bool, final: str, seen: list[str]) -> None:
    assert run_join(db, rule, fail_bad) == (final, seen)


def test_one_success_skips_when_every_upstream_was_skipped(db: Db) -> None:
    db.save(
        {
            "name": "o",
            "nodes": [
                {"id": "c", "type": "condition", "config": {"expr": "true"}},
                {"id": "x", "type": "noop", "depends_on": [{"node": "c", "when": False}]},
                {"id": "y", "type": "noop", "depends_on": [{"node": "c", "when": False}]},
                {"id": "z", "type": "noop", "depends_on": ["x", "y"], "join": "one_success"},
            ],
        }
    )
    execution_id = db.start("o")
    db.run_all({"c:outcome": True})
    assert db.statuses(execution_id)["z"] == "skipped"


def test_fan_out_and_join(db: Db) -> None:
    db.save(
        {
            "name": "fan",
            "nodes": [
                {"id": "root", "type": "noop"},
                *[{"id": f"p{i}", "type": "noop", "depends_on": ["root"]} for i in range(50)],
                {"id": "join", "type": "noop", "depends_on": [f"p{i}" for i in range(50)]},
            ],
        }
    )
    execution_id = db.start("fan")
    db.succeed(db.claim()[0])
    parallel = db.claim(limit=100)
    assert len(parallel) == 50
    rows = db.report(
        [
            {"step_id": c["step_id"], "token": c["lease_token"], "kind": "succeeded", "output": i}
            for i, c in enumerate(parallel)
        ]
    )
    assert [r["result"] for r in rows] == ["ok"] * 50
    (join,) = db.claim()
    assert len(join["upstream"]) == 50
    db.succeed(join, "joined")
    assert db.execution(execution_id)["status"] == "succeeded"
    assert db.execution(execution_id)["output"] == {"join": "joined"}


def test_output_mapping_runs_as_a_final_step(db: Db) -> None:
    db.save(
        {
            "name": "m",
            "output": {"total": "steps.a.output.n + 1"},
            "nodes": [
                {"id": "a", "type": "noop"},
            ],
        }
    )
    execution_id = db.start("m")
    db.succeed(db.claim()[0], {"n": 41})
    (out,) = db.claim()
    assert out["node_id"] == "$output" and out["node_type"] == "output"
    assert out["config"] == {"mapping": {"total": "steps.a.output.n + 1"}}
    assert out["upstream"] == {"a": {"output": {"n": 41}}}
    db.succeed(out, {"total": 42})
    assert db.execution(execution_id)["output"] == {"total": 42}
