"""The `run`, `executions` and `dead-letters` commands."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
import msgspec
from rich.console import Console, RenderableType
from rich.live import Live

from flowsync import store
from flowsync.cli import CliError, _with_connection
from flowsync.cli_render import (
    PlainProgress,
    dead_letters_table,
    execution_view,
    executions_table,
    exit_code,
    final_lines,
    progress_view,
)
from flowsync.config import Settings
from flowsync.database import database_dsn
from flowsync.states import EXECUTION_STATUSES, TERMINAL_EXECUTION

POLL_SECONDS = 0.2
EXIT_TIMEOUT = 2
LIST_LIMIT_MAX = 10_000
MAX_STEP_ID = 2**63 - 1

AddCommand = Callable[..., argparse.ArgumentParser]


# -- commands ------------------------------------------------------------------------------


def console() -> Console:
    return Console(highlight=False)


def emit(renderable: RenderableType) -> None:
    """Print to a terminal with rich; off one (a pipe, a file), as plain lines that are not
    wrapped at 80 columns and carry no trailing padding."""
    if sys.stdout.isatty():
        console().print(renderable)
        return
    plain = Console(highlight=False, width=max(Console().width, 200), force_terminal=False)
    with plain.capture() as captured:
        plain.print(renderable)
    for line in captured.get().splitlines():
        print(line.rstrip())


def parse_input(text: str) -> Any:
    try:
        return msgspec.json.decode(text)
    except msgspec.DecodeError as exc:
        raise CliError(f"--input is not valid JSON: {exc}") from None


def parse_execution_id(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise CliError(f"{text!r} is not an execution id (a UUID)") from None


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    value = parse_input(args.input)
    if args.timeout is not None and (not args.wait or args.timeout <= 0):
        raise CliError("--timeout takes a positive number of seconds, and needs --wait")
    with database_dsn(settings) as dsn:
        return _with_connection(dsn, lambda conn: _run(conn, args, value))


async def _run(conn: asyncpg.Connection[Any], args: argparse.Namespace, value: Any) -> int:
    try:
        started = await store.start_execution(
            conn, args.name, value, idempotency_key=args.idempotency_key, version=args.version
        )
    except store.StoreError as exc:
        raise CliError(str(exc)) from None
    execution_id = started.id
    print(execution_id, flush=True)
    if not started.created:
        print("(already started with this idempotency key)", file=sys.stderr)
    if not args.wait:
        return 0

    if sys.stdout.isatty():
        with Live(console=console(), auto_refresh=False) as live:
            detail, finished = await _wait(
                conn,
                execution_id,
                args.timeout,
                lambda d: live.update(progress_view(d, datetime.now(UTC)), refresh=True),
            )
    else:
        plain = PlainProgress()

        def show(d: store.ExecutionDetail) -> None:
            for line in plain.lines(d):
                print(line, flush=True)

        detail, finished = await _wait(conn, execution_id, args.timeout, show)
    if not finished:
        print(
            f"flowsync: timed out after {args.timeout:g}s; execution {execution_id} is still "
            f"{detail.execution.status}",
            file=sys.stderr,
        )
        return EXIT_TIMEOUT
    for line in final_lines(detail):
        print(line)
    return exit_code(detail.execution.status)


async def _wait(
    conn: asyncpg.Connection[Any],
    execution_id: UUID,
    give_up_after: float | None,
    show: Callable[[store.ExecutionDetail], None],
) -> tuple[store.ExecutionDetail, bool]:
    """Poll until the execution ends (True) or `give_up_after` seconds pass (False)."""
    loop = asyncio.get_running_loop()
    deadline = None if give_up_after is None else loop.time() + give_up_after
    while True:
        detail = await store.get_execution(conn, execution_id)
        if detail is None:
            raise CliError(f"execution {execution_id} disappeared")
        show(detail)
        if detail.execution.status in TERMINAL_EXECUTION:
            return detail, True
        if deadline is not None and loop.time() >= deadline:
            return detail, False
        await asyncio.sleep(POLL_SECONDS)


def cmd_executions_list(settings: Settings, args: argparse.Namespace) -> int:
    if not 1 <= args.limit <= LIST_LIMIT_MAX:
        raise CliError(f"--limit must be between 1 and {LIST_LIMIT_MAX}")
    with database_dsn(settings) as dsn:
        rows = _with_connection(
            dsn,
            lambda conn: store.list_executions(
                conn,
                workflow=args.workflow,
                status=args.status,
                created_after=None,
                created_before=None,
                cursor=None,
                limit=args.limit,
            ),
        )
    if not rows:
        print("no executions")
        return 0
    emit(executions_table(rows))
    return 0


def cmd_executions_show(settings: Settings, args: argparse.Namespace) -> int:
    execution_id = parse_execution_id(args.id)

    async def read(
        conn: asyncpg.Connection[Any],
    ) -> tuple[store.ExecutionDetail | None, list[store.TimelineEvent]]:
        detail = await store.get_execution(conn, execution_id)
        events = [] if detail is None else await store.execution_timeline(conn, execution_id)
        return detail, events

    with database_dsn(settings) as dsn:
        detail, events = _with_connection(dsn, read)
    if detail is None:
        raise CliError(f"execution {execution_id} does not exist")
    emit(execution_view(detail, events, datetime.now(UTC)))
    return 0


def cmd_dead_letters_list(settings: Settings, args: argparse.Namespace) -> int:
    if not 1 <= args.limit <= LIST_LIMIT_MAX:
        raise CliError(f"--limit must be between 1 and {LIST_LIMIT_MAX}")
    with database_dsn(settings) as dsn:
        rows = _with_connection(
            dsn,
            lambda conn: store.list_dead_letters(
                conn, workflow=args.workflow, cursor=None, limit=args.limit
            ),
        )
    if not rows:
        print("no dead letters")
        return 0
    emit(dead_letters_table(rows))
    return 0


def cmd_dead_letters_replay(settings: Settings, args: argparse.Namespace) -> int:
    if not 1 <= args.step_id <= MAX_STEP_ID:
        raise CliError(f"step {args.step_id} is not a dead letter")
    with database_dsn(settings) as dsn:
        replay = _with_connection(
            dsn, lambda conn: store.replay_dead_letter(conn, args.step_id, None)
        )
    if replay.result == "not_found":
        raise CliError(f"step {args.step_id} is not a dead letter")
    if replay.result != "resumed":
        raise CliError(
            f"step {args.step_id} ({replay.node_id!r}) cannot be replayed: only a failed "
            f"execution's steps can be, and execution {replay.execution_id} is {replay.result!r}"
        )
    print(f"step {args.step_id} replayed; its execution is running again")
    return 0


# -- parser --------------------------------------------------------------------------------


def add_execution_commands(sub: Any, add: AddCommand) -> None:
    """Register `run`, `executions ...` and `dead-letters ...` on the `flowsync` parser."""
    run = add("run", cmd_run, "start an execution of a workflow and print its id")
    run.add_argument("name", help="the workflow")
    run.add_argument("--input", default="{}", metavar="JSON", help="its input (default {})")
    run.add_argument("--version", type=int, help="a specific version (default: latest)")
    run.add_argument(
        "--idempotency-key",
        metavar="KEY",
        help="a repeat with the same key returns the execution it started",
    )
    run.add_argument(
        "--wait",
        action="store_true",
        help="follow the execution until it ends; exit 0 only if it succeeded",
    )
    run.add_argument(
        "--timeout", type=float, metavar="SECONDS", help="with --wait: give up after (exit 2)"
    )

    executions = add("executions", lambda s, a: 0, "list and inspect executions")
    ex_sub = executions.add_subparsers(dest="executions_command", required=True, metavar="ACTION")
    listing = add("list", cmd_executions_list, "list executions, newest first", ex_sub)
    listing.add_argument("--workflow", help="only this workflow's")
    listing.add_argument("--status", choices=EXECUTION_STATUSES)
    listing.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    add(
        "show", cmd_executions_show, "print an execution, its steps and its timeline", ex_sub
    ).add_argument("id")

    dead = add("dead-letters", lambda s, a: 0, "failed and dead steps")
    dl_sub = dead.add_subparsers(dest="dead_letters_command", required=True, metavar="ACTION")
    dl_list = add("list", cmd_dead_letters_list, "list dead letters, newest first", dl_sub)
    dl_list.add_argument("--workflow", help="only this workflow's")
    dl_list.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    add(
        "replay", cmd_dead_letters_replay, "re-run a dead step and what depends on it", dl_sub
    ).add_argument("step_id", type=int)
