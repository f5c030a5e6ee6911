"""How the CLI draws executions, steps, timelines and dead letters (pure: data in, text out)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from flowsync import store
from flowsync.states import ExecutionStatus, StepStatus

# Keyed by step status; an execution's statuses are step statuses too (same names).
STATUS_STYLES: dict[str, str] = {
    StepStatus.PENDING: "dim",
    StepStatus.QUEUED: "blue",
    StepStatus.RUNNING: "yellow",
    StepStatus.SUCCEEDED: "green",
    StepStatus.FAILED: "red",
    StepStatus.DEAD: "bold red",
    StepStatus.SKIPPED: "dim",
    StepStatus.CANCELLED: "magenta",
}
# Statuses in which a step's latest attempt has ended (worth naming the attempt).
ATTEMPT_ENDED = frozenset({StepStatus.SUCCEEDED, StepStatus.FAILED, StepStatus.DEAD})


def when(at: datetime | None) -> str:
    return "" if at is None else f"{at.astimezone(UTC):%Y-%m-%d %H:%M:%S}"


def step_duration(step: store.StepRow, now: datetime) -> str:
    """How long the step's latest attempt ran (so far, while it runs)."""
    if step.started_at is None:
        return ""
    end = step.finished_at or (now if step.status == StepStatus.RUNNING else None)
    if end is None:
        return ""
    return f"{max((end - step.started_at).total_seconds(), 0.0):.1f}s"


def compact_json(value: Any) -> str:
    return msgspec.json.encode(value).decode()


def error_summary(error: Any, width: int = 60) -> str:
    """An error's message (else its JSON), cut to `width` characters."""
    if error is None:
        return ""
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        text: str = error["message"]
    else:
        text = error if isinstance(error, str) else compact_json(error)
    return text if len(text) <= width else text[: width - 1] + "…"


def status_text(status: str) -> Text:
    return Text(status, style=STATUS_STYLES.get(status, ""))


def _table(*columns: str, title: str | None = None) -> Table:
    """Plain aligned columns with an upper-case header, like `flowsync workflow list`."""
    table = Table(box=None, pad_edge=False, title=title, title_justify="left")
    for name in columns:
        table.add_column(name, no_wrap=name in {"ID", "EXECUTION", "STEP ID"})
    return table


def steps_table(detail: store.ExecutionDetail, now: datetime) -> Table:
    table = _table("STEP", "STATUS", "ATTEMPTS", "DURATION", "WORKER", "ERROR")
    for step in detail.steps:
        table.add_row(
            step.node_id,
            status_text(step.status),
            str(step.attempt),
            step_duration(step, now),
            step.worker_id or "",
            error_summary(step.error),
        )
    return table


def progress_view(detail: store.ExecutionDetail, now: datetime) -> RenderableType:
    """The live view of `run --wait`: a headline and the steps table."""
    e = detail.execution
    elapsed = ""
    if e.started_at is not None:
        elapsed = f"  {((e.finished_at or now) - e.started_at).total_seconds():.1f}s"
    headline = Text.assemble(
        (f"{e.workflow} v{e.version}  ", "bold"), f"{e.id}  ", status_text(e.status), elapsed
    )
    return Group(headline, steps_table(detail, now))


def executions_table(rows: list[store.ExecutionRow]) -> Table:
    table = _table("ID", "WORKFLOW", "VERSION", "STATUS", "CREATED", "FINISHED")
    for r in rows:
        table.add_row(
            str(r.id),
            r.workflow,
            str(r.version),
            status_text(r.status),
            when(r.created_at),
            when(r.finished_at),
        )
    return table


def timeline_table(events: list[store.TimelineEvent]) -> Table:
    table = _table("AT", "EVENT", "STEP", "ATTEMPT", "DETAIL")
    for ev in events:
        detail = "" if ev.detail in (None, {}) else compact_json(ev.detail)
        attempt = "" if ev.attempt is None else str(ev.attempt)
        table.add_row(when(ev.at), ev.event, ev.node_id or "", attempt, detail)
    return table


def execution_view(
    detail: store.ExecutionDetail, events: list[store.TimelineEvent], now: datetime
) -> RenderableType:
    """`executions show`: the execution, its steps and its timeline."""
    e = detail.execution
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column()
    for label, value in (
        ("execution", Text(str(e.id))),
        ("workflow", Text(f"{e.workflow} v{e.version}")),
        ("status", status_text(e.status)),
        ("created", Text(when(e.created_at))),
        ("started", Text(when(e.started_at))),
        ("finished", Text(when(e.finished_at))),
        ("idempotency key", Text(e.idempotency_key or "")),
        ("input", Text(compact_json(detail.input))),
        ("output", Text("" if detail.output is None else compact_json(detail.output))),
        ("error", Text("" if detail.error is None else compact_json(detail.error))),
    ):
        if value.plain:
            facts.add_row(label, value)
    return Group(
        facts,
        Text(""),
        steps_table(detail, now),
        Text(""),
        Text("TIMELINE", style="bold"),
        timeline_table(events),
    )


def dead_letters_table(rows: list[store.DeadLetter]) -> Table:
    table = _table(
        "STEP ID", "EXECUTION", "WORKFLOW", "NODE", "STATUS", "ATTEMPTS", "FINISHED", "ERROR"
    )
    for d in rows:
        table.add_row(
            str(d.step_id),
            str(d.execution_id),
            d.workflow,
            d.node_id,
            status_text(d.status),
            str(d.attempt),
            when(d.finished_at),
            error_summary(d.error),
        )
    return table


def step_line(step: store.StepRow) -> str:
    """One plain progress line for a step's new state."""
    if step.status == StepStatus.RUNNING:
        return f"{step.node_id}: running (attempt {step.attempt})"
    if step.status == StepStatus.QUEUED and step.attempt > 0:
        return f"{step.node_id}: queued (after attempt {step.attempt})"
    if step.status in ATTEMPT_ENDED and step.attempt > 0:
        return f"{step.node_id}: {step.status} (attempt {step.attempt})"
    return f"{step.node_id}: {step.status}"


class PlainProgress:
    """`run --wait` off a terminal: one line per step state change, nothing else.

    A state is (status, attempt); a step first seen as pending prints nothing.
    """

    def __init__(self) -> None:
        self._seen: dict[str, tuple[str, int]] = {}

    def lines(self, detail: store.ExecutionDetail) -> list[str]:
        out = []
        for step in detail.steps:
            state = (step.status, step.attempt)
            before = self._seen.get(step.node_id)
            self._seen[step.node_id] = state
            if state != before and not (before is None and step.status == StepStatus.PENDING):
                out.append(step_line(step))
        return out


def final_lines(detail: store.ExecutionDetail) -> list[str]:
    e = detail.execution
    lines = [f"execution {e.id} {e.status}"]
    if detail.output is not None:
        lines.append(f"output: {compact_json(detail.output)}")
    if detail.error is not None:
        lines.append(f"error: {compact_json(detail.error)}")
    return lines


def exit_code(status: str) -> int:
    return 0 if status == ExecutionStatus.SUCCEEDED else 1
