"""How the execution commands draw fixed data: progress lines, tables, the live view."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from rich.console import Console, RenderableType

from flowsync import store
from flowsync.cli import CliError
from flowsync.cli_executions import parse_execution_id, parse_input
from flowsync.cli_render import (
    STATUS_STYLES,
    PlainProgress,
    dead_letters_table,
    error_summary,
    execution_view,
    executions_table,
    exit_code,
    final_lines,
    progress_view,
    step_duration,
    step_line,
)
from flowsync.states import EXECUTION_STATUSES, STEP_STATUSES, TERMINAL_EXECUTION

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
EXECUTION_ID = UUID("12345678-1234-5678-1234-567812345678")


def t(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def step(
    node_id: str,
    status: str,
    attempt: int = 0,
    started: float | None = None,
    finished: float | None = None,
    **extra: Any,
) -> store.StepRow:
    return store.StepRow(
        id=1,
        node_id=node_id,
        status=status,
        attempt=attempt,
        output=extra.get("output"),
        error=extra.get("error"),
        queued_at=t(0),
        started_at=None if started is None else t(started),
        finished_at=None if finished is None else t(finished),
        run_at=t(0),
        worker_id=extra.get("worker_id"),
    )


def detail(
    status: str, *steps: store.StepRow, output: Any = None, error: Any = None
) -> store.ExecutionDetail:
    finished = t(9) if status in TERMINAL_EXECUTION else None
    return store.ExecutionDetail(
        execution=store.ExecutionRow(
            id=EXECUTION_ID,
            workflow="order-paid",
            version=3,
            status=status,
            created_at=t(0),
            started_at=t(1),
            finished_at=finished,
            idempotency_key=None,
        ),
        input={"order": 1},
        output=output,
        error=error,
        steps=list(steps),
    )


def render(renderable: RenderableType, width: int = 120) -> str:
    console = Console(width=width, color_system=None, force_terminal=False)
    with console.capture() as capture:
        console.print(renderable)
    return capture.get()


def test_plain_progress_prints_one_line_per_state_change() -> None:
    progress = PlainProgress()
    polls = [
        detail("queued", step("fetch", "queued"), step("ship", "pending")),
        detail("running", step("fetch", "running", 1, 1), step("ship", "pending")),
        detail("running", step("fetch", "running", 1, 1), step("ship", "pending")),
        detail("running", step("fetch", "queued", 1), step("ship", "pending")),
        detail("running", step("fetch", "running", 2, 3), step("ship", "pending")),
        detail("running", step("fetch", "succeeded", 2, 3, 4), step("ship", "queued")),
        detail("succeeded", step("fetch", "succeeded", 2, 3, 4), step("ship", "skipped")),
    ]
    lines = [line for poll in polls for line in progress.lines(poll)]
    assert lines == [
        "fetch: queued",
        "fetch: running (attempt 1)",
        "fetch: queued (after attempt 1)",
        "fetch: running (attempt 2)",
        "fetch: succeeded (attempt 2)",
        "ship: queued",
        "ship: skipped",
    ]


def test_plain_progress_attaching_late_prints_the_current_states() -> None:
    progress = PlainProgress()
    finished = detail(
        "failed", step("a", "dead", 3, 1, 2), step("b", "cancelled"), step("c", "pending")
    )
    assert progress.lines(finished) == ["a: dead (attempt 3)", "b: cancelled"]
    assert progress.lines(finished) == []


@pytest.mark.parametrize(
    ("row", "line"),
    [
        (step("x", "pending"), "x: pending"),
        (step("x", "queued"), "x: queued"),
        (step("x", "running", 4, 0), "x: running (attempt 4)"),
        (step("x", "failed", 1, 0, 1), "x: failed (attempt 1)"),
        (step("x", "skipped"), "x: skipped"),
    ],
)
def test_step_line(row: store.StepRow, line: str) -> None:
    assert step_line(row) == line


def test_every_status_has_a_style() -> None:
    """Statuses come from flowsync.states; an execution's are named like a step's."""
    assert set(EXECUTION_STATUSES) <= set(STEP_STATUSES)
    assert set(STATUS_STYLES) == set(STEP_STATUSES)


def test_final_lines_and_exit_codes() -> None:
    done = detail("succeeded", output={"b": [1, 2]})
    assert final_lines(done) == [f"execution {EXECUTION_ID} succeeded", 'output: {"b":[1,2]}']
    failed = detail("failed", error={"message": "1 step(s) failed"})
    assert final_lines(failed) == [
        f"execution {EXECUTION_ID} failed",
        'error: {"message":"1 step(s) failed"}',
    ]
    assert [exit_code(s) for s in ("succeeded", "failed", "cancelled")] == [0, 1, 1]


def test_step_duration() -> None:
    now = t(10)
    assert step_duration(step("x", "pending"), now) == ""
    assert step_duration(step("x", "running", 1, started=2.5), now) == "7.5s"
    assert step_duration(step("x", "succeeded", 1, started=1, finished=1.25), now) == "0.2s"
    assert step_duration(step("x", "queued", 1, started=1), now) == ""


def test_error_summary() -> None:
    assert error_summary(None) == ""
    assert error_summary({"message": "boom", "code": 7}) == "boom"
    assert error_summary({"code": 7}) == '{"code":7}'
    assert error_summary("x" * 100, width=10) == "x" * 9 + "…"


def test_progress_view_shows_each_step() -> None:
    running = detail(
        "running",
        step("fetch", "succeeded", 2, 1, 3, worker_id="w-1"),
        step("charge", "running", 1, 3, worker_id="w-2"),
        step("ship", "pending"),
    )
    text = render(progress_view(running, now=t(4)))
    lines = text.splitlines()
    assert lines[0].split() == ["order-paid", "v3", str(EXECUTION_ID), "running", "3.0s"]
    assert lines[1].split() == ["STEP", "STATUS", "ATTEMPTS", "DURATION", "WORKER", "ERROR"]
    assert lines[2].split() == ["fetch", "succeeded", "2", "2.0s", "w-1"]
    assert lines[3].split() == ["charge", "running", "1", "1.0s", "w-2"]
    assert lines[4].split() == ["ship", "pending", "0"]


def test_execution_view_has_facts_steps_and_timeline() -> None:
    failed = detail(
        "failed",
        step("fetch", "dead", 3, 1, 2, error={"message": "HTTP 503"}),
        error={"message": "1 step(s) failed"},
    )
    events = [
        store.TimelineEvent(t(0), "execution.created", None, None, {"version": 3}),
        store.TimelineEvent(t(1), "step.retry", "fetch", 1, {"message": "HTTP 503"}),
        store.TimelineEvent(t(9), "execution.failed", None, None, {}),
    ]
    text = render(execution_view(failed, events, now=t(10)))
    facts = {line.split()[0]: line.split()[1:] for line in text.splitlines()[:8]}
    assert facts["execution"] == [str(EXECUTION_ID)]
    assert facts["workflow"] == ["order-paid", "v3"]
    assert facts["status"] == ["failed"]
    assert facts["finished"] == ["2030-01-01", "12:00:09"]
    assert facts["input"] == ['{"order":1}']
    assert facts["error"] == ['{"message":"1', "step(s)", 'failed"}']
    assert "idempotency key" not in text and "output" not in text  # (none)
    assert "fetch  dead    3" in text and "HTTP 503" in text
    timeline = text[text.index("TIMELINE") :].splitlines()
    assert timeline[2].split() == ["2030-01-01", "12:00:00", "execution.created", '{"version":3}']
    assert timeline[3].split()[2:5] == ["step.retry", "fetch", "1"]
    assert timeline[4].split() == ["2030-01-01", "12:00:09", "execution.failed"]


def test_listing_tables() -> None:
    row = detail("succeeded").execution
    lines = render(executions_table([row])).splitlines()
    assert lines[1].split() == [
        str(EXECUTION_ID),
        "order-paid",
        "3",
        "succeeded",
        "2030-01-01",
        "12:00:00",
        "2030-01-01",
        "12:00:09",
    ]
    dead = store.DeadLetter(
        step_id=42,
        execution_id=EXECUTION_ID,
        workflow="order-paid",
        node_id="fetch",
        status="dead",
        attempt=5,
        error={"message": "HTTP 503"},
        finished_at=t(9),
    )
    lines = render(dead_letters_table([dead]), width=200).splitlines()
    assert lines[1].split() == [
        "42",
        str(EXECUTION_ID),
        "order-paid",
        "fetch",
        "dead",
        "5",
        "2030-01-01",
        "12:00:09",
        "HTTP",
        "503",
    ]


def test_input_and_id_parsing() -> None:
    assert parse_input('{"a": [1, null]}') == {"a": [1, None]}
    with pytest.raises(CliError, match=r"--input is not valid JSON: .*malformed"):
        parse_input("{a: 1}")
    with pytest.raises(CliError, match="--input is not valid JSON"):
        parse_input("")
    assert parse_execution_id(str(EXECUTION_ID)) == EXECUTION_ID
    with pytest.raises(CliError, match="not an execution id"):
        parse_execution_id("42")
