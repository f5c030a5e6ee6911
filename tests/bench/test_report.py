"""Figures, ratios, targets and the written report (bench/report.py), from hand-made results."""

from __future__ import annotations

import io
import json
import math
from typing import Any

import pytest
from rich.console import Console

from bench.report import TARGETS, Ref, Report, Results, Target, _cell, _fmt, _ratio
from bench.stats import Spread

CHAIN_TARGET_TEXT = "chain per-step p50 ≤ 3x floor 1-job cycle"
BASE = Ref("the baseline", "base", "v")
AT_LEAST = Target("mine ≥ 1.0x the baseline (aim 1.5x)", "mine", "v", 1.0, True, BASE, aim=1.5)
AT_MOST = Target("mine ≤ 100 MB", "mine", "rss", 100.0, False)


def make_report(
    results: Results, *, reps: int = 1, errors: dict[str, list[str]] | None = None, **meta: Any
) -> Report:
    labels = {key: f"label of {key}" for key in results}
    return Report({"repetitions": reps, **meta}, results, labels, errors or {})


def chain_and_floor(step_p50_ms: float, cycle_p50_ms: float) -> Results:
    return {
        "flowsync.chain": [
            {"step_p50_ms": step_p50_ms, "step_p95_ms": 2.0, "execution_p50_ms": 50.0}
        ],
        "floor.single": [{"jobs_per_s": 1000.0, "cycle_p50_ms": cycle_p50_ms, "cycle_p95_ms": 1.0}],
    }


def chain_target() -> Target:
    [target] = [t for t in TARGETS if t.text == CHAIN_TARGET_TEXT]
    return target


# -- figures ----------------------------------------------------------------------------------


def test_spread_is_over_repetitions_skipping_failed_ones_and_missing_metrics() -> None:
    report = make_report(
        {"k": [{"m": 3.0}, None, {"m": 1.0}, {"other": 9.0}]},
    )
    spread = report.spread("k", "m")
    assert (spread.median, spread.low, spread.high) == (2.0, 1.0, 3.0)
    assert len(spread.values) == 4


def test_ratio_is_taken_per_repetition_then_its_median_reported() -> None:
    # Ratios 2, 3, 1: median 2. The ratio of the medians would be 30 / 10 = 3.
    report = make_report(
        {
            "mine": [{"v": 10.0}, {"v": 30.0}, {"v": 40.0}],
            "base": [{"v": 5.0}, {"v": 10.0}, {"v": 40.0}],
        },
        reps=3,
    )
    assert report.ratio("mine", "v", BASE) == Spread(2.0, 1.0, 3.0, (2.0, 3.0, 1.0))


def test_ratio_is_nan_where_either_side_failed_or_the_baseline_is_zero() -> None:
    report = make_report(
        {
            "mine": [{"v": 10.0}, None, {"v": 10.0}, {"v": 10.0}],
            "base": [{"v": 5.0}, {"v": 5.0}, None, {"v": 0.0}],
        },
        reps=4,
    )
    ratio = report.ratio("mine", "v", BASE)
    assert (ratio.median, ratio.low, ratio.high) == (2.0, 2.0, 2.0)
    assert [math.isnan(v) for v in ratio.values] == [False, True, True, True]


def test_ratio_to_a_baseline_that_did_not_run_is_nan() -> None:
    report = make_report({"mine": [{"v": 10.0}]})
    assert math.isnan(report.ratio("mine", "v", BASE).median)


# -- targets ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mine", "base", "status"),
    [
        (20.0, 10.0, "met"),
        (15.0, 10.0, "met"),  # exactly the aim
        (12.0, 10.0, "met (aim not reached)"),
        (10.0, 10.0, "met (aim not reached)"),  # exactly the limit
        (9.0, 10.0, "MISSED"),
    ],
)
def test_at_least_target_with_an_aim(mine: float, base: float, status: str) -> None:
    report = make_report({"mine": [{"v": mine}], "base": [{"v": base}]})
    figure, got = report.target_status(AT_LEAST)
    assert got == status
    assert figure.median == mine / base


@pytest.mark.parametrize(("rss", "status"), [(99.0, "met"), (100.0, "met"), (100.5, "MISSED")])
def test_at_most_target_with_an_absolute_limit(rss: float, status: str) -> None:
    report = make_report({"mine": [{"rss": rss}]})
    assert report.target_status(AT_MOST) == (Spread(rss, rss, rss, (rss,)), status)


@pytest.mark.parametrize(
    "results",
    [
        {},
        {"mine": [None]},
        {"mine": [{"unrelated": 1.0}]},
        {"mine": [{"v": 10.0}]},  # the baseline is missing
        {"mine": [{"v": 10.0}], "base": [None]},
    ],
)
def test_target_without_a_figure_is_no_data(results: Results) -> None:
    report = make_report(results)
    assert report.target_status(AT_LEAST)[1] == "no data"
    assert report.target_status(AT_MOST)[1] == "no data"


@pytest.mark.parametrize(("step_p50_ms", "status"), [(5.0, "met"), (6.0, "met"), (6.5, "MISSED")])
def test_chain_target_is_step_p50_over_the_floor_cycle_p50_at_most_3x(
    step_p50_ms: float, status: str
) -> None:
    report = make_report(chain_and_floor(step_p50_ms, cycle_p50_ms=2.0))
    figure, got = report.target_status(chain_target())
    assert (figure.median, got) == (step_p50_ms / 2.0, status)


def test_chain_target_without_the_floor_is_no_data() -> None:
    report = make_report({"flowsync.chain": [{"step_p50_ms": 1.0}]})
    assert report.target_status(chain_target())[1] == "no data"


# -- results.json ----------------------------------------------------------------------------


def test_json_rounds_figures_and_ratios_to_4_places() -> None:
    data = make_report(chain_and_floor(1.23456, cycle_p50_ms=0.5)).to_json()
    [row] = [
        r for r in data["flowsync"] if (r["key"], r["metric"]) == ("flowsync.chain", "step_p50_ms")
    ]
    assert row["value"] == {"median": 1.2346, "min": 1.2346, "max": 1.2346, "values": [1.2346]}
    assert row["ratios"] == [
        {
            "to": "floor 1-job cycle p50",
            "key": "floor.single",
            "metric": "cycle_p50_ms",
            "median": 2.4691,
            "min": 2.4691,
            "max": 2.4691,
            "values": [2.4691],
        }
    ]


def test_json_writes_missing_figures_as_null_and_is_strict_json() -> None:
    data = make_report(chain_and_floor(1.0, cycle_p50_ms=0.5)).to_json()
    drain = next(r for r in data["flowsync"] if r["key"] == "flowsync.drain1")
    assert drain["value"] == {"median": None, "min": None, "max": None, "values": []}
    json.dumps(data, allow_nan=False)  # NaN is not JSON


def test_json_lists_every_target_with_its_status() -> None:
    data = make_report(chain_and_floor(1.0, cycle_p50_ms=0.5)).to_json()
    statuses = {t["target"]: t["status"] for t in data["targets"]}
    assert statuses == {t.text: "no data" for t in TARGETS} | {CHAIN_TARGET_TEXT: "met"}
    [chain] = [t for t in data["targets"] if t["target"] == CHAIN_TARGET_TEXT]
    assert (chain["ratio_to"], chain["limit"], chain["median"]) == (
        "floor 1-job cycle p50",
        3.0,
        2.0,
    )


def test_json_keeps_the_raw_runs_labels_and_errors() -> None:
    results: Results = {"flowsync.chain": [{"step_p50_ms": 1.0}, None]}
    errors = {"flowsync.chain": ["BenchError: boom"]}
    data = make_report(results, reps=2, errors=errors, quick=False).to_json()
    assert data["raw"] == {
        "flowsync.chain": {"label": "label of flowsync.chain", "runs": [{"step_p50_ms": 1.0}, None]}
    }
    assert data["errors"] == errors
    assert data["meta"] == {"repetitions": 2, "quick": False}


def test_json_writes_a_raw_figure_that_is_not_a_number_as_null() -> None:
    # (a process gone before its peak RSS was read)
    results: Results = {"flowsync.chain": [{"step_p50_ms": 1.23456, "rss_mb": math.nan}]}
    data = make_report(results).to_json()
    assert data["raw"]["flowsync.chain"]["runs"] == [{"step_p50_ms": 1.2346, "rss_mb": None}]
    json.dumps(data, allow_nan=False)


# -- tables and results.md --------------------------------------------------------------------


def test_tables_hold_only_the_measurements_that_ran() -> None:
    tables = make_report(chain_and_floor(1.0, cycle_p50_ms=0.5)).tables()
    (_, _, flowsync), (_, _, baselines), (_, _, targets) = tables
    assert flowsync == [
        ["chain (40 steps): per step p50", "1.00 ms", "2.00x floor 1-job cycle p50"],
        ["chain (40 steps): per step p95", "2.00 ms", "2.00x floor 1-job cycle p95"],
    ]
    assert baselines == [
        ["floor: claim+complete, 1 at a time, 1 client", "1,000 jobs/s"],
        ["floor: 1-job cycle p50", "0.50 ms"],
        ["floor: 1-job cycle p95", "1.00 ms"],
    ]
    assert targets == [[CHAIN_TARGET_TEXT, "2.00x", "met"]]


def test_tables_show_a_dash_for_a_ratio_whose_baseline_did_not_run() -> None:
    tables = make_report({"flowsync.chain": [{"step_p50_ms": 1.0}]}).tables()
    (_, _, flowsync), _, (_, _, targets) = tables
    assert flowsync[0] == ["chain (40 steps): per step p50", "1.00 ms", "— floor 1-job cycle p50"]
    assert targets == [[CHAIN_TARGET_TEXT, "—", "no data"]]


def test_markdown_has_the_target_table_with_the_chain_row() -> None:
    md = make_report(chain_and_floor(6.5, cycle_p50_ms=2.0)).markdown()
    assert md.startswith("# FlowSync benchmark results\n")
    lines = md.splitlines()
    start = lines.index("## Targets")
    assert lines[start + 1 : start + 5] == [
        "",
        "| target | measured | status |",
        "|---|---:|---:|",
        f"| {CHAIN_TARGET_TEXT} | 3.25x | MISSED |",
    ]


def test_print_renders_every_table() -> None:
    out = io.StringIO()
    make_report(chain_and_floor(6.5, cycle_p50_ms=2.0)).print(Console(file=out, width=200))
    text = out.getvalue()
    for title in ("FlowSync (ratios", "Baselines (same server", "Targets", CHAIN_TARGET_TEXT):
        assert title in text
    assert "MISSED" in text


# -- notes ------------------------------------------------------------------------------------

QUIET_META: dict[str, Any] = {
    "server": {"fsync": "on", "synchronous_commit": "on"},
    "code_fingerprints": ["abc"],
}


def test_no_notes_for_a_clean_durable_full_run() -> None:
    assert make_report({}, reps=3, **QUIET_META).notes() == []


def test_notes_say_what_makes_the_figures_weaker() -> None:
    meta = {
        "server": {"fsync": "off", "synchronous_commit": "off"},
        "code_fingerprints": ["abc", "def"],
        "load_average_1m": {"min": 0.5, "max": 3.0, "median": 1.0},
        "machine": {"cpus": 2},
    }
    errors = {"flowsync.chain": ["BenchError: boom\nmore detail", "BenchError: again"]}
    notes = make_report({}, reps=1, errors=errors, **meta).notes()
    assert notes == [
        "one repetition per scenario (--quick): no spread; smaller counts",
        "1-minute load average before each measurement: 0.5-3.0 on 2 CPUs"
        " (above the CPU count: the previous measurement, or other work, was still"
        " loading the machine)",
        "the server runs with fsync=off, synchronous_commit=off: figures are not "
        "durable-commit figures",
        "the engine's code (sql/, flowsync/) changed during the run (2 versions: abc, def): "
        "figures mix versions",
        "flowsync.chain failed 2x: BenchError: boom",
    ]


def test_markdown_lists_the_notes() -> None:
    md = make_report({}, reps=1, **QUIET_META).markdown()
    assert md.endswith(
        "## Notes\n\n- one repetition per scenario (--quick): no spread; smaller counts\n"
    )


# -- formatting -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "unit", "shown"),
    [
        (1.234, "ms", "1.23"),
        (1.25, "s", "1.25"),
        (87.66, "MB", "87.7"),
        (12345.6, "exec/s", "12,346"),
        (math.nan, "ms", "—"),
    ],
)
def test_fmt(value: float, unit: str, shown: str) -> None:
    assert _fmt(value, unit) == shown


def test_cell_shows_the_min_max_spread_only_with_several_repetitions() -> None:
    spread = Spread.of([1.0, 2.0, 4.0])
    assert _cell(spread, "ms", 3) == "2.00 ms (1.00-4.00)"
    assert _cell(spread, "ms", 1) == "2.00 ms"
    assert _cell(Spread.of([]), "ms", 3) == "— ms"


def test_ratio_shows_the_spread_only_when_it_is_not_a_single_value() -> None:
    assert _ratio(Spread.of([1.0, 1.5, 3.0]), 3) == "1.50x (1.00-3.00)"
    assert _ratio(Spread.of([1.5, 1.5, 1.5]), 3) == "1.50x"
    assert _ratio(Spread.of([1.5]), 1) == "1.50x"
    assert _ratio(Spread.of([]), 3) == "—"
