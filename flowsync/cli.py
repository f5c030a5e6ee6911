"""The `flowsync` command: dev, migrate, api, api-key, workflow, schema-snapshot."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import msgspec
import psycopg

from flowsync import keys, store
from flowsync.config import ConfigError, Settings, load_settings
from flowsync.database import database_dsn
from flowsync.db import use_json_codecs
from flowsync.definition import (
    DefinitionError,
    parse_definition,
    to_mermaid,
)
from flowsync.embedded import EmbeddedPostgresError
from flowsync.log import configure_logging
from flowsync.migrate import MigrationError, migrate

T = TypeVar("T")


class CliError(Exception):
    """A failure to report on stderr with exit code 1, without a traceback."""


def _with_connection(dsn: str, work: Callable[[asyncpg.Connection[Any]], Awaitable[T]]) -> T:
    async def run() -> T:
        conn = await asyncpg.connect(dsn)
        try:
            await use_json_codecs(conn)
            return await work(conn)
        finally:
            await conn.close()

    return asyncio.run(run())


# -- commands ------------------------------------------------------------------------------


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    with database_dsn(settings) as dsn:
        report = migrate(dsn)
    applied = ", ".join(report.applied) or "none (already up to date)"
    print(
        f"schema version {report.current_version:04d}; applied: {applied}; "
        f"functions: {report.functions}"
    )
    return 0


def cmd_api_key_create(settings: Settings, args: argparse.Namespace) -> int:
    key = keys.new_api_key()
    with database_dsn(settings) as dsn:
        migrate(dsn)
        _with_connection(
            dsn,
            lambda conn: store.create_api_key(
                conn, keys.hash_api_key(key), keys.display_prefix(key), [args.scope], args.name
            ),
        )
    print(key)
    print(f"(scope {args.scope}; shown once, store it now)", file=sys.stderr)
    return 0


def cmd_workflow_apply(settings: Settings, args: argparse.Namespace) -> int:
    path = Path(args.file)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CliError(f"{path}: {exc.strerror}") from None
    try:
        definition = parse_definition(raw)
    except DefinitionError as exc:
        lines = "\n".join(f"  {issue.path}: {issue.message}" for issue in exc.issues)
        raise CliError(f"{path}: invalid workflow definition:\n{lines}") from None
    with database_dsn(settings) as dsn:
        migrate(dsn)
        saved = _with_connection(
            dsn,
            lambda conn: store.save_workflow_version(conn, definition, None),
        )
    state = "created" if saved.created else "unchanged"
    print(f"{definition.name}: version {saved.version} ({state})")
    return 0


def cmd_workflow_list(settings: Settings, args: argparse.Namespace) -> int:
    with database_dsn(settings) as dsn:
        rows = _with_connection(
            dsn,
            lambda conn: store.list_workflows(
                conn, after=None, limit=10_000, include_archived=args.all
            ),
        )
    if not rows:
        print("no workflows")
        return 0
    width = max(len(r.name) for r in rows)
    print(f"{'NAME':<{width}}  VERSION  STATE     UPDATED")
    for r in rows:
        state = "archived" if r.archived_at else "active"
        updated = f"{r.updated_at:%Y-%m-%d %H:%M:%S}"
        print(f"{r.name:<{width}}  {r.latest_version:>7}  {state:<8}  {updated}")
    return 0


def cmd_workflow_show(settings: Settings, args: argparse.Namespace) -> int:
    with database_dsn(settings) as dsn:
        found = _with_connection(
            dsn, lambda conn: store.get_workflow_version(conn, args.name, args.version)
        )
    if found is None:
        raise CliError(_missing(args.name, args.version))
    out = {
        "name": found.name,
        "version": found.version,
        "checksum": found.checksum,
        "created_at": found.created_at,
        "definition": found.definition,
    }
    print(msgspec.json.format(msgspec.json.encode(out), indent=2).decode())
    return 0


def cmd_workflow_graph(settings: Settings, args: argparse.Namespace) -> int:
    with database_dsn(settings) as dsn:
        found = _with_connection(
            dsn, lambda conn: store.get_workflow_version(conn, args.name, args.version)
        )
    if found is None:
        raise CliError(_missing(args.name, args.version))
    print(to_mermaid(parse_definition(found.definition)))
    return 0


def _missing(name: str, version: int | None) -> str:
    if version is None:
        return f"workflow {name!r} does not exist"
    return f"version {version} of workflow {name!r} does not exist"


def cmd_dev(settings: Settings, args: argparse.Namespace) -> int:
    from flowsync.dev import run_dev

    return run_dev(settings)


def cmd_api(settings: Settings, args: argparse.Namespace) -> int:
    from flowsync.dev import run_api

    return run_api(settings)


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    from flowsync.worker import WorkerConfig
    from flowsync.worker.process import run_worker

    queues = tuple(q.strip() for q in args.queues.split(",") if q.strip())
    if not queues:
        raise CliError("--queues: name at least one queue")
    if args.concurrency < 1:
        raise CliError("--concurrency: must be at least 1")
    if args.pipeline is not None and args.pipeline < 1:
        raise CliError("--pipeline: must be at least 1")
    config = WorkerConfig(
        queues=queues,
        concurrency=args.concurrency,
        pipeline=args.pipeline,
        lease_seconds=args.lease,
        grace_seconds=args.grace,
        poll_seconds=args.poll,
        actions_module=args.actions,
        db_command_timeout=settings.db_command_timeout,
    )
    with database_dsn(settings) as dsn:
        migrate(dsn)
        run_worker(dsn, config)
    return 0


def cmd_scheduler(settings: Settings, args: argparse.Namespace) -> int:
    from flowsync.scheduler import SchedulerConfig
    from flowsync.scheduler.process import run_scheduler

    if args.tick <= 0 or args.prune_every <= 0:
        raise CliError("--tick and --prune-every: must be more than 0 seconds")
    config = SchedulerConfig(
        tick_seconds=args.tick,
        prune_seconds=args.prune_every,
        retention=settings.retention,
        db_command_timeout=settings.db_command_timeout,
    )
    with database_dsn(settings) as dsn:
        migrate(dsn)
        run_scheduler(dsn, config)
    return 0


def cmd_schema_snapshot(settings: Settings, args: argparse.Namespace) -> int:
    from flowsync.snapshot import write_snapshot

    path = write_snapshot()
    print(f"wrote {path}")
    return 0


def cmd_bench(settings: Settings, args: argparse.Namespace) -> int:
    """Run the harness in bench/ (a source checkout), installing its extra on first use."""
    import importlib
    import importlib.util
    import subprocess
    import tomllib

    root = Path(__file__).resolve().parent.parent
    if not (root / "bench" / "run.py").is_file():
        raise CliError(f"bench: no bench/ next to {root / 'flowsync'} (use a source checkout)")
    if importlib.util.find_spec("pgqueuer") is None:
        pyproject = tomllib.loads((root / "pyproject.toml").read_text())
        extra = pyproject["project"]["optional-dependencies"]["bench"]
        command = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", *extra]
        print(
            f"flowsync bench: installing the bench extra into {sys.prefix}: "
            f"pip install {' '.join(extra)}",
            file=sys.stderr,
        )
        if subprocess.run(command, check=False).returncode != 0:
            raise CliError("bench: installing the bench extra failed (pip's output is above)")
        importlib.invalidate_caches()
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    # Imported by name: bench/ is not part of the package (and mypy checks only flowsync/).
    harness: Any = importlib.import_module("bench.run")
    code: int = harness.run_bench(
        quick=args.quick, out=args.out, only=args.only, database_url=settings.database_url
    )
    return code


# -- parser --------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="flowsync", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(
        name: str,
        handler: Callable[[Settings, argparse.Namespace], int],
        help: str,
        parent: Any = sub,
    ) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = parent.add_parser(name, help=help, description=help)
        p.set_defaults(handler=handler)
        return p

    for name, handler, text in (
        (
            "dev",
            cmd_dev,
            "run everything on this machine (embedded Postgres unless "
            "FLOWSYNC_DATABASE_URL is set)",
        ),
        ("api", cmd_api, "serve the HTTP API (migrates first)"),
    ):
        p = add(name, handler, text)
        p.add_argument("--host", help="address to bind (default 127.0.0.1)")
        p.add_argument("--port", type=int, help="port to bind (default 8080)")

    add("migrate", cmd_migrate, "apply database migrations and stored functions")
    worker = add("worker", cmd_worker, "run steps: claim, run actions, report")
    worker.add_argument("--queues", default="default", help="comma-separated (default: default)")
    worker.add_argument("--concurrency", type=int, default=10, help="steps at once (default 10)")
    worker.add_argument(
        "--pipeline",
        type=int,
        default=None,
        help="claim/report round trips in flight at once (default: 2 while the worker is "
        "alone on its queues, 1 when other workers share them)",
    )
    worker.add_argument("--actions", help="module or .py file of custom @action functions")
    worker.add_argument("--lease", type=float, default=30.0, help="lease seconds (default 30)")
    worker.add_argument(
        "--grace", type=float, default=30.0, help="seconds to finish steps on SIGTERM (default 30)"
    )
    worker.add_argument(
        "--poll", type=float, default=5.0, help="idle poll interval, seconds (default 5)"
    )
    scheduler = add(
        "scheduler",
        cmd_scheduler,
        "fire cron triggers, rescue expired leases, wake workers, prune old executions "
        "(run any number: one leads)",
    )
    scheduler.add_argument(
        "--tick", type=float, default=0.25, help="leader tick, seconds (default 0.25)"
    )
    scheduler.add_argument(
        "--prune-every",
        type=float,
        default=60.0,
        help="seconds between retention passes (default 60; FLOWSYNC_RETENTION sets the age)",
    )
    add("schema-snapshot", cmd_schema_snapshot, "regenerate sql/schema.sql from the migrations")
    bench = add(
        "bench",
        cmd_bench,
        "benchmark the engine against PgQueuer and a minimal job table (bench/; starts its "
        "own embedded Postgres unless FLOWSYNC_DATABASE_URL is set)",
    )
    bench.add_argument("--quick", action="store_true", help="smaller counts, one repetition")
    bench.add_argument("--out", type=Path, help="results directory (default bench/out/<time>)")
    bench.add_argument("--only", help="comma-separated measurement keys or key prefixes")

    api_key = add("api-key", lambda s, a: 0, "manage API keys")
    api_key_sub = api_key.add_subparsers(dest="api_key_command", required=True, metavar="ACTION")
    create = add("create", cmd_api_key_create, "create a key and print it once", api_key_sub)
    create.add_argument("--scope", choices=keys.SCOPES, required=True)
    create.add_argument("--name", default="", help="a label to recognise the key by")

    workflow = add("workflow", lambda s, a: 0, "manage workflow definitions")
    wf_sub = workflow.add_subparsers(dest="workflow_command", required=True, metavar="ACTION")
    add(
        "apply", cmd_workflow_apply, "create a workflow or a new version from a JSON file", wf_sub
    ).add_argument("file")
    add("list", cmd_workflow_list, "list workflows", wf_sub).add_argument(
        "--all", action="store_true", help="include archived workflows"
    )
    for name, handler, text in (
        ("show", cmd_workflow_show, "print a workflow version as JSON"),
        ("graph", cmd_workflow_graph, "print a workflow's DAG as a Mermaid flowchart"),
    ):
        p = add(name, handler, text, wf_sub)
        p.add_argument("name")
        p.add_argument("--version", type=int, help="a specific version (default: latest)")

    from flowsync.cli_executions import add_execution_commands

    add_execution_commands(sub, add)

    from flowsync.cli_triggers import add_trigger_commands

    add_trigger_commands(sub, add)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(host=getattr(args, "host", None), port=getattr(args, "port", None))
        configure_logging(settings.log_level, settings.log_format)
        code: int = args.handler(settings, args)
        return code
    except (CliError, ConfigError, MigrationError, EmbeddedPostgresError) as exc:
        print(f"flowsync: {exc}", file=sys.stderr)
        return 1
    except (OSError, asyncpg.PostgresError, psycopg.Error) as exc:
        print(f"flowsync: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
