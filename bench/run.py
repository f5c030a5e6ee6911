"""`bin/flowsync bench [--quick] [--out DIR]`: start a server, run every scenario and its
baselines, print the table, write results.json and results.md.

    server (embedded, durable; or FLOWSYNC_DATABASE_URL)
      └─ for each repetition (3; 1 with --quick):
           for each measurement (floor, PgQueuer and FlowSync interleaved, so that a noisy
           neighbour hits all three alike):
               fresh database cloned from the template → run → drop

Worker and API processes are real subprocesses (`python -m flowsync worker|api`); their logs
go to <out>/logs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import hashlib
import importlib.metadata
import json
import os
import platform
import traceback
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

import flowsync
from bench import chain, drain, fanout, pickup, start_rate
from bench.baselines import floor, pgqueuer_baseline
from bench.context import Context, Sizes
from bench.procs import REPO_ROOT
from bench.report import Report
from bench.server import BenchServer
from bench.stats import Spread
from bench.workflows import save_workflows
from flowsync.migrate import migrate

Run = Callable[[Context], Coroutine[Any, Any, dict[str, float]]]


@dataclass(frozen=True)
class Measurement:
    key: str
    system: str
    label: str
    run: Run


def measurements(sizes: Sizes) -> list[Measurement]:
    b, c = sizes.batch_size, sizes.clients
    m = Measurement
    return [
        m(
            "floor.batch",
            "floor",
            f"claim+complete, {b}/statement",
            lambda ctx: floor.cycle(ctx, b),
        ),
        m("floor.single", "floor", "claim+complete, 1 at a time", lambda ctx: floor.cycle(ctx, 1)),
        m(
            "pgqueuer.drain1",
            "PgQueuer",
            "drain, 1 process",
            lambda ctx: pgqueuer_baseline.drain(ctx, 1),
        ),
        m(
            "flowsync.drain1",
            "FlowSync",
            "drain, 1 worker process",
            lambda ctx: drain.drain(ctx, 1),
        ),
        m(
            "pgqueuer.drain2",
            "PgQueuer",
            "drain, 2 processes",
            lambda ctx: pgqueuer_baseline.drain(ctx, 2),
        ),
        m(
            "flowsync.drain2",
            "FlowSync",
            "drain, 2 worker processes",
            lambda ctx: drain.drain(ctx, 2),
        ),
        m("flowsync.fanout", "FlowSync", "fan-out", fanout.fanout),
        m("flowsync.chain", "FlowSync", "chain", chain.chain),
        m("pgqueuer.pickup", "PgQueuer", "pickup latency", pgqueuer_baseline.pickup),
        m("flowsync.pickup", "FlowSync", "pickup latency", pickup.pickup),
        m(
            "floor.insert1",
            "floor",
            "insert, 1/transaction, 1 connection",
            lambda ctx: floor.insert_rate(ctx, 1, 1),
        ),
        m(
            "floor.insert32",
            "floor",
            f"insert, 1/transaction, {c} connections",
            lambda ctx: floor.insert_rate(ctx, c, 1),
        ),
        m(
            "floor.insert_batch",
            "floor",
            f"insert, {b}/statement",
            lambda ctx: floor.insert_rate(ctx, 1, b),
        ),
        m(
            "pgqueuer.enqueue1",
            "PgQueuer",
            "enqueue, 1/transaction, 1 connection",
            lambda ctx: pgqueuer_baseline.enqueue_rate(ctx, 1, 1),
        ),
        m(
            "pgqueuer.enqueue32",
            "PgQueuer",
            f"enqueue, 1/transaction, {c} connections",
            lambda ctx: pgqueuer_baseline.enqueue_rate(ctx, c, 1),
        ),
        m(
            "pgqueuer.enqueue_batch",
            "PgQueuer",
            f"enqueue, {b}/call",
            lambda ctx: pgqueuer_baseline.enqueue_rate(ctx, 1, b),
        ),
        m("flowsync.start_api", "FlowSync", f"start via HTTP API, {c} clients", start_rate.api),
        m(
            "flowsync.start_sql1",
            "FlowSync",
            "start via SQL, 1 connection",
            lambda ctx: start_rate.sql_single(ctx, 1),
        ),
        m(
            "flowsync.start_sql32",
            "FlowSync",
            f"start via SQL, {c} connections",
            lambda ctx: start_rate.sql_single(ctx, c),
        ),
        m(
            "flowsync.start_batch",
            "FlowSync",
            f"start via SQL, {b}/statement",
            start_rate.sql_batch,
        ),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="flowsync bench", description=__doc__.split("\n")[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    return run_bench(
        quick=args.quick,
        out=args.out,
        only=args.only,
        database_url=os.environ.get("FLOWSYNC_DATABASE_URL") or None,
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--quick", action="store_true", help="smaller counts, one repetition (~1 minute)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="directory for results.json, results.md and process logs "
        "(default: bench/out/<UTC time>)",
    )
    parser.add_argument(
        "--only",
        help="comma-separated measurement keys or prefixes (e.g. flowsync.drain1,pgqueuer.): "
        "run just those, for working on one scenario",
    )


def run_bench(*, quick: bool, out: Path | None, only: str | None, database_url: str | None) -> int:
    sizes = Sizes.quick() if quick else Sizes.full()
    started = datetime.now(UTC)
    chosen = _select(measurements(sizes), only)
    out = (out or REPO_ROOT / "bench" / "out" / started.strftime("%Y%m%d-%H%M%S")).resolve()
    log_dir = out / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    console = Console()
    if not console.is_terminal:
        console = Console(width=150)  # a log file: do not wrap the table at 80 columns

    meta: dict[str, Any] = {
        "started_at": started.isoformat(timespec="seconds"),
        "quick": quick,
        "repetitions": sizes.repetitions,
        "sizes": asdict(sizes),
        "only": only,
        "machine": machine(),
        "flowsync_version": flowsync.__version__,
        "pgqueuer_version": _version("pgqueuer"),
    }
    console.print(
        f"FlowSync bench ({'quick: 1 repetition, smaller counts' if quick else 'full'}): "
        f"{len(chosen)} measurements x {sizes.repetitions}; results in {out}"
    )
    results: dict[str, list[dict[str, float] | None]] = {m.key: [] for m in chosen}
    errors: dict[str, list[str]] = {}
    loads: list[float] = []
    fingerprints: set[str] = set()

    with console.status("starting PostgreSQL..."):
        server = BenchServer.start(database_url)
    try:
        with console.status("preparing the template database..."):
            with_pgqueuer = any(m.key.startswith("pgqueuer.") for m in chosen)
            server.build_template(functools.partial(prepare_template, pgqueuer=with_pgqueuer))
            meta["server"] = server.describe()
        progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        )
        with progress:
            task = progress.add_task("", total=len(chosen) * sizes.repetitions)
            for rep in range(1, sizes.repetitions + 1):
                for m in chosen:
                    what = f"round {rep}/{sizes.repetitions} · {m.system}: {m.label}"
                    progress.update(task, description=what)
                    if not console.is_terminal:  # no live bar in a log: one line each
                        console.print(what)
                    loads.append(os.getloadavg()[0])
                    fingerprints.add(code_fingerprint())
                    try:
                        with server.fresh_database() as dsn:
                            figures = asyncio.run(m.run(Context(dsn, sizes, log_dir)))
                        results[m.key].append(figures)
                    except Exception as exc:  # one failure must not lose the whole run
                        results[m.key].append(None)
                        errors.setdefault(m.key, []).append(
                            "".join(traceback.format_exception_only(exc)).strip()
                        )
                        with (log_dir / "errors.log").open("a") as log:
                            log.write(f"== {m.key} round {rep}\n{traceback.format_exc()}\n")
                        progress.console.print(f"[red]{m.key} failed:[/] {exc}")
                    progress.advance(task)
    finally:
        server.stop()

    load = Spread.of(loads)
    meta["load_average_1m"] = {"min": load.low, "max": load.high, "median": load.median}
    meta["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    meta["code_fingerprints"] = sorted(fingerprints)
    report = Report(meta, results, {m.key: f"{m.system}: {m.label}" for m in chosen}, errors)
    (out / "results.json").write_text(
        json.dumps(report.to_json(), indent=2, allow_nan=False) + "\n"
    )
    (out / "results.md").write_text(report.markdown())
    report.print(console)
    console.print(f"wrote {out / 'results.json'} and {out / 'results.md'}")
    return 1 if errors else 0


def prepare_template(dsn: str, *, pgqueuer: bool) -> None:
    """FlowSync migrated with the bench workflows, the floor's table, and PgQueuer's schema
    if a PgQueuer measurement runs (PgQueuer is a dependency of those alone)."""
    import psycopg

    migrate(dsn)
    save_workflows(dsn)
    with psycopg.connect(dsn, autocommit=True) as conn:
        floor.install(conn)
    if pgqueuer:
        asyncio.run(pgqueuer_baseline.install(dsn))


def code_fingerprint() -> str:
    """A short hash of the engine's code (sql/, flowsync/) as a measurement starts: results
    name the code they measured, and a run during which it changed says so."""
    digest = hashlib.sha256()
    for pattern in ("sql/**/*.sql", "flowsync/**/*.py"):
        for path in sorted(REPO_ROOT.glob(pattern)):
            digest.update(str(path.relative_to(REPO_ROOT)).encode())
            with contextlib.suppress(OSError):
                digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def machine() -> dict[str, Any]:
    cpu_model = platform.processor() or "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    memory_gb: float | None = None
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    return {
        "cpu_model": cpu_model,
        "cpus": os.cpu_count(),
        "memory_gb": memory_gb,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "hostname": platform.node(),
    }


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _select(all_measurements: list[Measurement], only: str | None) -> list[Measurement]:
    if not only:
        return all_measurements
    wanted = [w.strip() for w in only.split(",") if w.strip()]
    unknown = [w for w in wanted if not any(m.key.startswith(w) for m in all_measurements)]
    if unknown or not wanted:
        keys = ", ".join(m.key for m in all_measurements)
        what = ", ".join(repr(w) for w in unknown) if unknown else repr(only)
        raise SystemExit(f"flowsync bench: --only {what} matches nothing; keys: {keys}")
    return [m for m in all_measurements if any(m.key.startswith(w) for w in wanted)]


if __name__ == "__main__":
    raise SystemExit(main())
