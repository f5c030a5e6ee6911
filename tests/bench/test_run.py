"""The harness's own logic (bench/run.py): choosing measurements, arguments, fingerprints."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from bench.context import Sizes
from bench.report import BASELINE_ROWS, FLOWSYNC_ROWS, TARGETS
from bench.run import Measurement, _select, add_arguments, code_fingerprint, measurements, run_bench

ALL = measurements(Sizes.quick())


def keys(chosen: list[Measurement]) -> list[str]:
    return [m.key for m in chosen]


def test_measurement_keys_are_unique() -> None:
    assert len(set(keys(ALL))) == len(ALL)


def test_every_key_the_report_reads_is_a_measurement() -> None:
    # A renamed measurement would otherwise leave its report rows and targets at "no data".
    read = {row.key for row in (*FLOWSYNC_ROWS, *BASELINE_ROWS)}
    read |= {ref.key for row in FLOWSYNC_ROWS for ref in row.refs}
    read |= {t.key for t in TARGETS} | {t.ref.key for t in TARGETS if t.ref}
    assert read <= set(keys(ALL))


def test_quick_and_full_runs_have_the_same_measurements() -> None:
    assert keys(measurements(Sizes.full())) == keys(ALL)


@pytest.mark.parametrize("only", [None, ""])
def test_select_without_only_takes_everything(only: str | None) -> None:
    assert _select(ALL, only) == ALL


def test_select_takes_exact_keys_in_harness_order() -> None:
    assert keys(_select(ALL, "flowsync.chain,floor.single")) == ["floor.single", "flowsync.chain"]


def test_select_takes_prefixes_and_ignores_blanks() -> None:
    assert keys(_select(ALL, " flowsync.drain , ,")) == ["flowsync.drain1", "flowsync.drain2"]
    assert keys(_select(ALL, "floor.")) == [k for k in keys(ALL) if k.startswith("floor.")]


@pytest.mark.parametrize("only", ["nothing.like.this", " , "])
def test_select_matching_nothing_exits_listing_the_keys(only: str) -> None:
    with pytest.raises(SystemExit) as exit_info:
        _select(ALL, only)
    message = str(exit_info.value.code)
    assert message.startswith(f"flowsync bench: --only {only!r} matches nothing; keys: ")
    assert message.endswith(", ".join(keys(ALL)))


def test_select_names_a_mistyped_entry_beside_good_ones() -> None:
    with pytest.raises(SystemExit) as exit_info:
        _select(ALL, "flowsync.chain,floor.cycle")
    assert str(exit_info.value.code).startswith(
        "flowsync bench: --only 'floor.cycle' matches nothing; keys: "
    )


def test_run_bench_with_an_unknown_only_exits_before_starting_a_server(tmp_path: Path) -> None:
    # An unreachable URL: reaching the server at all would fail differently.
    with pytest.raises(SystemExit, match="matches nothing"):
        run_bench(
            quick=True,
            out=tmp_path,
            only="no-such-key",
            database_url="postgresql://nobody@127.0.0.1:1/none",
        )
    assert list(tmp_path.iterdir()) == []  # nothing written either


def test_arguments() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--quick", "--out", "somewhere", "--only", "floor."])
    assert (args.quick, args.out, args.only) == (True, Path("somewhere"), "floor.")
    args = parser.parse_args([])
    assert (args.quick, args.out, args.only) == (False, None, None)


def test_code_fingerprint_is_a_stable_short_hash() -> None:
    fingerprint = code_fingerprint()
    assert len(fingerprint) == 12
    int(fingerprint, 16)
    assert code_fingerprint() == fingerprint
