"""What a run found: FlowSync's figures with their ratios to the baselines, the baselines'
own figures, the targets; printed (rich), and written as results.json and results.md.

Each figure is the median over the run's repetitions with the min-max spread. A ratio is
taken per repetition (FlowSync and its baseline ran in the same round, minutes apart at most)
and its median is reported, so slow drift of a noisy machine cancels out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.stats import Spread
from bench.workflows import CHAIN_LENGTH, FANOUT_WIDTH

# results[key] = one dict of figures per repetition (None: that repetition failed)
Results = dict[str, list[dict[str, float] | None]]


@dataclass(frozen=True)
class Ref:
    name: str
    key: str
    metric: str


@dataclass(frozen=True)
class Row:
    label: str
    key: str
    metric: str
    unit: str
    refs: tuple[Ref, ...] = ()


@dataclass(frozen=True)
class Target:
    text: str
    key: str
    metric: str
    limit: float
    at_least: bool
    ref: Ref | None = None  # None: `limit` is absolute, in the figure's unit
    aim: float | None = None


PGQ1 = Ref("PgQueuer, 1 process", "pgqueuer.drain1", "jobs_per_s")
PGQ2 = Ref("PgQueuer, 2 processes", "pgqueuer.drain2", "jobs_per_s")
FLOOR_BATCH = Ref("floor, 100/statement", "floor.batch", "jobs_per_s")
FLOOR_CYCLE50 = Ref("floor 1-job cycle p50", "floor.single", "cycle_p50_ms")
FLOOR_CYCLE95 = Ref("floor 1-job cycle p95", "floor.single", "cycle_p95_ms")

FLOWSYNC_ROWS = (
    Row(
        "drain, 1 worker process x 100",
        "flowsync.drain1",
        "executions_per_s",
        "exec/s",
        (PGQ1, FLOOR_BATCH),
    ),
    Row(
        "drain, 2 worker processes x 100",
        "flowsync.drain2",
        "executions_per_s",
        "exec/s",
        (PGQ2, FLOOR_BATCH),
    ),
    Row(
        "worker start-up (until listening)",
        "flowsync.drain1",
        "startup_s",
        "s",
        (Ref("PgQueuer", "pgqueuer.drain1", "startup_s"),),
    ),
    Row(
        f"fan-out, {FANOUT_WIDTH} parallel + join, 1 worker",
        "flowsync.fanout",
        "steps_per_s",
        "steps/s",
        (PGQ1, FLOOR_BATCH),
    ),
    Row(
        f"chain ({CHAIN_LENGTH} steps): per step p50",
        "flowsync.chain",
        "step_p50_ms",
        "ms",
        (FLOOR_CYCLE50,),
    ),
    Row(
        f"chain ({CHAIN_LENGTH} steps): per step p95",
        "flowsync.chain",
        "step_p95_ms",
        "ms",
        (FLOOR_CYCLE95,),
    ),
    Row(
        "pickup latency p50",
        "flowsync.pickup",
        "p50_ms",
        "ms",
        (Ref("PgQueuer", "pgqueuer.pickup", "p50_ms"),),
    ),
    Row(
        "pickup latency p95",
        "flowsync.pickup",
        "p95_ms",
        "ms",
        (Ref("PgQueuer", "pgqueuer.pickup", "p95_ms"),),
    ),
    Row(
        "pickup latency p99",
        "flowsync.pickup",
        "p99_ms",
        "ms",
        (Ref("PgQueuer", "pgqueuer.pickup", "p99_ms"),),
    ),
    Row(
        "start: HTTP API, 32 clients",
        "flowsync.start_api",
        "starts_per_s",
        "/s",
        (
            Ref("PgQueuer enqueue, 32 conns", "pgqueuer.enqueue32", "jobs_per_s"),
            Ref("floor insert, 32 conns", "floor.insert32", "jobs_per_s"),
        ),
    ),
    Row(
        "start: SQL, 1/transaction, 1 connection",
        "flowsync.start_sql1",
        "starts_per_s",
        "/s",
        (
            Ref("PgQueuer enqueue, 1 conn", "pgqueuer.enqueue1", "jobs_per_s"),
            Ref("floor insert, 1 conn", "floor.insert1", "jobs_per_s"),
        ),
    ),
    Row(
        "start: SQL, 1/transaction, 32 connections",
        "flowsync.start_sql32",
        "starts_per_s",
        "/s",
        (
            Ref("PgQueuer enqueue, 32 conns", "pgqueuer.enqueue32", "jobs_per_s"),
            Ref("floor insert, 32 conns", "floor.insert32", "jobs_per_s"),
        ),
    ),
    Row(
        "start: SQL, 100/statement",
        "flowsync.start_batch",
        "starts_per_s",
        "/s",
        (
            Ref("PgQueuer enqueue, 100/call", "pgqueuer.enqueue_batch", "jobs_per_s"),
            Ref("floor insert, 100/statement", "floor.insert_batch", "jobs_per_s"),
        ),
    ),
    Row(
        "start: SQL, the drain's backlog in one statement",
        "flowsync.drain1",
        "start_statement_per_s",
        "/s",
        (Ref("PgQueuer enqueue, one call", "pgqueuer.drain1", "enqueue_statement_per_s"),),
    ),
    Row(
        "memory: worker peak RSS (drain, 1 process)",
        "flowsync.drain1",
        "worker_peak_rss_mb",
        "MB",
        (Ref("PgQueuer worker", "pgqueuer.drain1", "worker_peak_rss_mb"),),
    ),
    Row("memory: API peak RSS (start via API)", "flowsync.start_api", "api_peak_rss_mb", "MB"),
)

BASELINE_ROWS = (
    Row("floor: claim+complete, 100/statement, 1 client", "floor.batch", "jobs_per_s", "jobs/s"),
    Row("floor: claim+complete, 1 at a time, 1 client", "floor.single", "jobs_per_s", "jobs/s"),
    Row("floor: 1-job cycle p50", "floor.single", "cycle_p50_ms", "ms"),
    Row("floor: 1-job cycle p95", "floor.single", "cycle_p95_ms", "ms"),
    Row("floor: insert, 1/transaction, 1 connection", "floor.insert1", "jobs_per_s", "/s"),
    Row("floor: insert, 1/transaction, 32 connections", "floor.insert32", "jobs_per_s", "/s"),
    Row("floor: insert, 100/statement", "floor.insert_batch", "jobs_per_s", "/s"),
    Row("PgQueuer: drain, 1 process, batch 100", "pgqueuer.drain1", "jobs_per_s", "jobs/s"),
    Row("PgQueuer: drain, 2 processes, batch 100", "pgqueuer.drain2", "jobs_per_s", "jobs/s"),
    Row("PgQueuer: worker start-up", "pgqueuer.drain1", "startup_s", "s"),
    Row("PgQueuer: pickup p50", "pgqueuer.pickup", "p50_ms", "ms"),
    Row("PgQueuer: pickup p95", "pgqueuer.pickup", "p95_ms", "ms"),
    Row("PgQueuer: pickup p99", "pgqueuer.pickup", "p99_ms", "ms"),
    Row("PgQueuer: enqueue, 1/transaction, 1 connection", "pgqueuer.enqueue1", "jobs_per_s", "/s"),
    Row(
        "PgQueuer: enqueue, 1/transaction, 32 connections", "pgqueuer.enqueue32", "jobs_per_s", "/s"
    ),
    Row("PgQueuer: enqueue, 100/call", "pgqueuer.enqueue_batch", "jobs_per_s", "/s"),
    Row(
        "PgQueuer: enqueue, the drain's backlog in one call",
        "pgqueuer.drain1",
        "enqueue_statement_per_s",
        "/s",
    ),
    Row(
        "PgQueuer: worker peak RSS (drain, 1 process)",
        "pgqueuer.drain1",
        "worker_peak_rss_mb",
        "MB",
    ),
)

TARGETS = (
    Target(
        "drain (1 process) ≥ 1.0x PgQueuer (aim 1.5x)",
        "flowsync.drain1",
        "executions_per_s",
        1.0,
        True,
        PGQ1,
        aim=1.5,
    ),
    Target(
        "drain (2 processes) ≥ 1.0x PgQueuer (aim 1.5x)",
        "flowsync.drain2",
        "executions_per_s",
        1.0,
        True,
        PGQ2,
        aim=1.5,
    ),
    Target(
        "drain (1 process) ≥ 0.5x floor (100/statement)",
        "flowsync.drain1",
        "executions_per_s",
        0.5,
        True,
        FLOOR_BATCH,
    ),
    Target(
        "fan-out steps/s ≥ 1.0x PgQueuer jobs/s", "flowsync.fanout", "steps_per_s", 1.0, True, PGQ1
    ),
    Target(
        "pickup p50 ≤ PgQueuer's",
        "flowsync.pickup",
        "p50_ms",
        1.0,
        False,
        Ref("PgQueuer", "pgqueuer.pickup", "p50_ms"),
    ),
    Target(
        "pickup p99 ≤ PgQueuer's",
        "flowsync.pickup",
        "p99_ms",
        1.0,
        False,
        Ref("PgQueuer", "pgqueuer.pickup", "p99_ms"),
    ),
    Target(
        "chain per-step p50 ≤ 3x floor 1-job cycle",
        "flowsync.chain",
        "step_p50_ms",
        3.0,
        False,
        FLOOR_CYCLE50,
    ),
    Target(
        "worker peak RSS ≤ 100 MB (concurrency 100)",
        "flowsync.drain1",
        "worker_peak_rss_mb",
        100.0,
        False,
    ),
    Target("API peak RSS ≤ 120 MB", "flowsync.start_api", "api_peak_rss_mb", 120.0, False),
)


@dataclass
class Report:
    meta: dict[str, Any]
    results: Results
    labels: dict[str, str]
    errors: dict[str, list[str]] = field(default_factory=dict)

    # -- figures --------------------------------------------------------------------------

    def spread(self, key: str, metric: str) -> Spread:
        return Spread.of([r.get(metric, math.nan) if r else math.nan for r in self._runs(key)])

    def ratio(self, key: str, metric: str, ref: Ref) -> Spread:
        mine, theirs = self._runs(key), self._runs(ref.key)
        values = [
            a[metric] / b[ref.metric]
            if a and b and metric in a and b.get(ref.metric) and not math.isnan(a[metric])
            else math.nan
            for a, b in zip(mine, theirs, strict=False)
        ]
        return Spread.of(values)

    def _runs(self, key: str) -> list[dict[str, float] | None]:
        return self.results.get(key, [])

    def target_status(self, target: Target) -> tuple[Spread, str]:
        figure = (
            self.ratio(target.key, target.metric, target.ref)
            if target.ref
            else self.spread(target.key, target.metric)
        )
        value = figure.median
        if math.isnan(value):
            return figure, "no data"
        met = value >= target.limit if target.at_least else value <= target.limit
        if met and target.aim is not None and value < target.aim:
            return figure, "met (aim not reached)"
        return figure, "met" if met else "MISSED"

    # -- output ---------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        def spread_json(s: Spread) -> dict[str, Any]:
            return {
                "median": _num(s.median),
                "min": _num(s.low),
                "max": _num(s.high),
                "values": [_num(v) for v in s.values],
            }

        rows = []
        for row in FLOWSYNC_ROWS:
            rows.append(
                {
                    "label": row.label,
                    "key": row.key,
                    "metric": row.metric,
                    "unit": row.unit,
                    "value": spread_json(self.spread(row.key, row.metric)),
                    "ratios": [
                        {
                            "to": ref.name,
                            "key": ref.key,
                            "metric": ref.metric,
                            **spread_json(self.ratio(row.key, row.metric, ref)),
                        }
                        for ref in row.refs
                    ],
                }
            )
        baselines = [
            {
                "label": row.label,
                "key": row.key,
                "metric": row.metric,
                "unit": row.unit,
                "value": spread_json(self.spread(row.key, row.metric)),
            }
            for row in BASELINE_ROWS
        ]
        targets = []
        for target in TARGETS:
            figure, status = self.target_status(target)
            targets.append(
                {
                    "target": target.text,
                    "status": status,
                    "ratio_to": target.ref.name if target.ref else None,
                    "limit": target.limit,
                    **spread_json(figure),
                }
            )
        return {
            "meta": self.meta,
            "flowsync": rows,
            "baselines": baselines,
            "targets": targets,
            "raw": {
                key: {
                    "label": self.labels.get(key, key),
                    "runs": [
                        None if run is None else {k: _num(v) for k, v in run.items()}
                        for run in runs
                    ],
                }
                for key, runs in self.results.items()
            },
            "errors": self.errors,
        }

    def tables(self) -> list[tuple[str, list[str], list[list[str]]]]:
        """(title, header, rows) of every table, for the console and for Markdown."""
        reps = int(self.meta.get("repetitions", 1))
        flowsync = [
            [
                row.label,
                _cell(self.spread(row.key, row.metric), row.unit, reps),
                "; ".join(
                    f"{_ratio(self.ratio(row.key, row.metric, ref), reps)} {ref.name}"
                    for ref in row.refs
                )
                or "—",
            ]
            for row in FLOWSYNC_ROWS
            if row.key in self.results
        ]
        baselines = [
            [row.label, _cell(self.spread(row.key, row.metric), row.unit, reps)]
            for row in BASELINE_ROWS
            if row.key in self.results
        ]
        targets = []
        for target in TARGETS:
            if target.key not in self.results:
                continue
            figure, status = self.target_status(target)
            shown = (
                _ratio(figure, reps)
                if target.ref
                else _cell(figure, "MB" if "RSS" in target.text else "", reps)
            )
            targets.append([target.text, shown, status])
        return [
            (
                "FlowSync (ratios: FlowSync ÷ baseline, same run)",
                ["scenario", "FlowSync", "ratio to baselines"],
                flowsync,
            ),
            ("Baselines (same server, same run)", ["baseline", "figure"], baselines),
            ("Targets", ["target", "measured", "status"], targets),
        ]

    def print(self, console: Console) -> None:
        for title, header, rows in self.tables():
            table = Table(title=title, title_justify="left", show_lines=False)
            for i, name in enumerate(header):
                table.add_column(name, justify="left" if i == 0 else "right")
            for row in rows:
                style = "bold red" if row[-1] == "MISSED" else None
                table.add_row(*row, style=style)
            console.print(table)
        for note in self.notes():
            console.print(f"[yellow]note:[/] {note}")

    def notes(self) -> list[str]:
        notes = []
        reps = int(self.meta.get("repetitions", 1))
        if reps == 1:
            notes.append("one repetition per scenario (--quick): no spread; smaller counts")
        load = self.meta.get("load_average_1m")
        if load:
            cpus = self.meta.get("machine", {}).get("cpus") or 1
            # (A 1-minute average lags: the previous measurement's own processes count too.)
            busy = (
                " (above the CPU count: the previous measurement, or other work, was still"
                " loading the machine)"
                if load["max"] > cpus
                else ""
            )
            notes.append(
                f"1-minute load average before each measurement: {load['min']:.1f}-"
                f"{load['max']:.1f} on {cpus} CPUs{busy}"
            )
        server = self.meta.get("server", {})
        if server.get("fsync") != "on" or server.get("synchronous_commit") != "on":
            notes.append(
                f"the server runs with fsync={server.get('fsync')}, synchronous_commit="
                f"{server.get('synchronous_commit')}: figures are not durable-commit figures"
            )
        prints = self.meta.get("code_fingerprints") or []
        if len(prints) > 1:
            notes.append(
                f"the engine's code (sql/, flowsync/) changed during the run "
                f"({len(prints)} versions: {', '.join(prints)}): figures mix versions"
            )
        for key, errors in self.errors.items():
            notes.append(f"{key} failed {len(errors)}x: {errors[0].splitlines()[0]}")
        return notes

    def markdown(self) -> str:
        meta = self.meta
        machine = meta.get("machine", {})
        server = meta.get("server", {})
        lines = [
            "# FlowSync benchmark results",
            "",
            f"- run: {meta.get('started_at')} → {meta.get('finished_at')}"
            f" ({'--quick' if meta.get('quick') else 'full'}, "
            f"{meta.get('repetitions')} repetition(s); figures are medians, (min-max))",
            f"- machine: {machine.get('cpu_model')}, {machine.get('cpus')} CPUs, "
            f"{machine.get('memory_gb')} GB RAM, Linux {machine.get('kernel')}, "
            f"Python {machine.get('python')}",
            f"- PostgreSQL {server.get('server_version')} ({server.get('kind')}), "
            f"fsync={server.get('fsync')}, synchronous_commit={server.get('synchronous_commit')}, "
            f"shared_buffers={server.get('shared_buffers')}, data on "
            f"{server.get('data_dir_filesystem', 'n/a')}",
            f"- FlowSync {meta.get('flowsync_version')} (code "
            f"{', '.join(meta.get('code_fingerprints') or [])}), "
            f"PgQueuer {meta.get('pgqueuer_version')}",
            "- sizes: " + ", ".join(f"{k}={v}" for k, v in (meta.get("sizes") or {}).items()),
            "",
        ]
        for title, header, rows in self.tables():
            lines += [f"## {title}", "", "| " + " | ".join(header) + " |"]
            lines.append("|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|")
            lines += ["| " + " | ".join(r) + " |" for r in rows]
            lines.append("")
        notes = self.notes()
        if notes:
            lines += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
        return "\n".join(lines)


def _num(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 4)


def _fmt(value: float, unit: str) -> str:
    if math.isnan(value):
        return "—"
    if unit == "ms":
        return f"{value:.2f}"
    if unit in ("MB", "s"):
        return f"{value:.1f}" if unit == "MB" else f"{value:.2f}"
    return f"{value:,.0f}"


def _cell(spread: Spread, unit: str, reps: int) -> str:
    main = f"{_fmt(spread.median, unit)} {unit}".strip()
    if reps > 1 and not math.isnan(spread.low):
        main += f" ({_fmt(spread.low, unit)}-{_fmt(spread.high, unit)})"
    return main


def _ratio(spread: Spread, reps: int) -> str:
    if math.isnan(spread.median):
        return "—"
    text = f"{spread.median:.2f}x"
    if reps > 1 and spread.low != spread.high:
        text += f" ({spread.low:.2f}-{spread.high:.2f})"
    return text
