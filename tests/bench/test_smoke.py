"""The real harness on a cheap subset, against the test suite's server: it runs, writes both
result files with figures for what was chosen, and leaves no database behind. No figure is
judged: any positive number will do."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import psycopg
import pytest

from bench.run import run_bench
from tests.pg import ServerForTests

pytestmark = pytest.mark.slow

# The cheapest measurements that still give a target a figure: the chain (one worker
# process) and the floor's 1-job cycle its target is a ratio to.
ONLY = "floor.single,flowsync.chain"
CHAIN_TARGET = "chain per-step p50 ≤ 3x floor 1-job cycle"


def bench_databases(server: ServerForTests) -> set[str]:
    with psycopg.connect(server.admin_dsn, autocommit=True) as conn:
        rows = conn.execute(
            r"SELECT datname FROM pg_database WHERE datname LIKE 'flowsync\_bench%'"
        ).fetchall()
    return {row[0] for row in rows}


def strict_json(text: str) -> Any:
    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_quick_run_of_chain_and_floor(pg_server: ServerForTests, tmp_path: Path) -> None:
    before = bench_databases(pg_server)
    out = tmp_path / "out"

    code = run_bench(quick=True, out=out, only=ONLY, database_url=pg_server.admin_dsn)

    errors_log = out / "logs" / "errors.log"
    assert code == 0, errors_log.read_text() if errors_log.exists() else ""
    assert bench_databases(pg_server) - before == set()

    data = strict_json((out / "results.json").read_text())
    assert data["errors"] == {}
    assert data["meta"]["only"] == ONLY
    assert data["meta"]["repetitions"] == 1
    runs = {key: entry["runs"] for key, entry in data["raw"].items()}
    assert {key: [sorted(run) for run in key_runs] for key, key_runs in runs.items()} == {
        "floor.single": [["cycle_p50_ms", "cycle_p95_ms", "jobs_per_s"]],
        "flowsync.chain": [["execution_p50_ms", "step_p50_ms", "step_p95_ms"]],
    }
    for [run] in runs.values():
        assert all(math.isfinite(v) and v > 0 for v in run.values()), run

    statuses = {t["target"]: t["status"] for t in data["targets"]}
    assert statuses[CHAIN_TARGET] in ("met", "MISSED")
    assert {s for t, s in statuses.items() if t != CHAIN_TARGET} == {"no data"}

    md = (out / "results.md").read_text()
    [chain_row] = [line for line in md.splitlines() if line.startswith(f"| {CHAIN_TARGET} | ")]
    assert chain_row.endswith((" | met |", " | MISSED |"))
    assert "x |" in chain_row  # a ratio, not "—"
    assert (out / "logs" / "chain-worker1.log").is_file()
