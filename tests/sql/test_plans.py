"""The hot path reads a bounded number of pages per step, with or without table statistics.

Its statements are written to be driven by id arrays through key lookups, so that their
plans do not depend on statistics a young database lacks (or on skewed ones). A planner
left to choose once read every node of a version for every step: quadratic in a wide
fan-out. Counted in buffers, which do not depend on the machine's speed."""

from __future__ import annotations

from typing import Any

import pytest
from psycopg.types.json import Jsonb

from tests.sql.conftest import T0, Db, chain

WIDTH = 600
BATCH = 100
MAX_BUFFERS_PER_STEP = 100  # key-driven: 20-45; reading the version's nodes: 150-175
FILLER_STEPS = 1500  # where the old plans' scans of steps cost most
MAX_BUFFERS_PER_CHAIN_REPORT = 120  # key-driven: 74; scanning steps: 170-210


def _buffers(db: Db, sql: str, params: tuple[Any, ...]) -> int:
    """Run `sql` under EXPLAIN ANALYZE; the shared buffers its execution touched."""
    row = db.conn.execute(
        "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, params, prepare=False
    ).fetchone()
    assert row is not None
    plan = row["QUERY PLAN"][0]["Plan"]
    return int(plan["Shared Hit Blocks"]) + int(plan["Shared Read Blocks"])


@pytest.mark.parametrize("statistics", [False, True], ids=["no-statistics", "analyzed"])
def test_claim_and_report_read_a_bounded_number_of_pages_per_step(db: Db, statistics: bool) -> None:
    db.save(
        {
            "name": "wide",
            "nodes": [{"id": f"n{i}", "type": "noop"} for i in range(WIDTH)]
            + [{"id": "join", "type": "noop", "depends_on": [f"n{i}" for i in range(WIDTH)]}],
        }
    )
    execution_id = db.start("wide")
    if statistics:
        db.conn.execute("ANALYZE")

    claim_buffers = _buffers(
        db,
        "SELECT * FROM flowsync.claim_steps('w1', '{default}', %s, 30000, %s)",
        (BATCH, T0),
    )
    leased = db.conn.execute(
        "SELECT id, lease_token FROM flowsync.steps WHERE execution_id = %s "
        "AND status = 'running' ORDER BY id",
        (execution_id,),
    ).fetchall()
    assert len(leased) == BATCH
    reports = [
        {"step_id": s["id"], "token": str(s["lease_token"]), "kind": "succeeded", "output": 1}
        for s in leased
    ]
    report_buffers = _buffers(
        db,
        "SELECT * FROM flowsync.report_steps('w1', %s, '{default}', %s, 30000, %s)",
        (Jsonb(reports), BATCH, T0),
    )
    assert claim_buffers / BATCH < MAX_BUFFERS_PER_STEP, claim_buffers
    assert report_buffers / BATCH < MAX_BUFFERS_PER_STEP, report_buffers

    # The report also claimed the next batch (its free slots), and nothing was lost.
    counts = db.conn.execute(
        "SELECT count(*) FILTER (WHERE status = 'succeeded') AS done, "
        "count(*) FILTER (WHERE status = 'running') AS running FROM flowsync.steps "
        "WHERE execution_id = %s",
        (execution_id,),
    ).fetchone()
    assert counts == {"done": BATCH, "running": BATCH}


def test_a_chain_report_reads_a_bounded_number_of_pages_in_a_young_database(db: Db) -> None:
    """A worker's session plans once, generically (plan_cache_mode = force_generic_plan), and
    a young database has no statistics. A planner left to join the reported ids to steps
    scanned the whole table for every report once it held a few thousand rows."""
    db.save(chain("filler", 1))
    db.save(chain("c5", 5, queue="c5"))
    db.conn.execute(
        "SELECT flowsync.start_executions('filler', "
        "(SELECT jsonb_agg(i) FROM generate_series(1, %s) i), NULL, NULL)",
        (FILLER_STEPS,),
    )
    db.conn.execute("SET plan_cache_mode = force_generic_plan")
    db.start("c5")
    (claim,) = db.claim(queues=("c5",), limit=10)
    for report_no in range(4):
        report = {
            "step_id": claim["step_id"],
            "token": str(claim["lease_token"]),
            "kind": "succeeded",
            "output": 1,
        }
        sql = "SELECT * FROM flowsync.report_steps('w1', %s, '{c5}', 10, 30000, %s)"
        if report_no < 2:  # the session's first calls compile the functions and plan
            rows = db.conn.execute(sql, (Jsonb([report]), T0)).fetchall()
        else:
            buffers = _buffers(db, sql, (Jsonb([report]), T0))
            assert buffers < MAX_BUFFERS_PER_CHAIN_REPORT, buffers
            rows = db.conn.execute(
                "SELECT 'claimed' AS result, id AS step_id, lease_token FROM flowsync.steps "
                "WHERE status = 'running' AND node_id = %s",
                (f"s{report_no + 1}",),
            ).fetchall()
        (claim,) = [r for r in rows if r["result"] == "claimed"]
