"""The `triggers` commands: list, create, delete, and install-pgmq (the pgmq extra)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from flowsync import store
from flowsync.cli import CliError, _with_connection
from flowsync.config import Settings
from flowsync.database import database_dsn
from flowsync.migrate import migrate
from flowsync.store import triggers as trigger_store
from flowsync.triggers.config import KINDS, TriggerConfigError
from flowsync.triggers.manage import CreatedTrigger, create_trigger
from flowsync.triggers.models import TriggerIn

__all__ = ["add_trigger_commands", "describe"]


def describe(row: trigger_store.TriggerRow) -> str:
    """What the trigger listens to, in a few words."""
    config = row.config
    if row.kind == "webhook":
        return f"POST /hooks/{row.hook_key} ({config.get('auth', 'hmac')})"
    if row.kind == "cron":
        if "cron" in config:
            return f"cron {config['cron']!r} {config.get('timezone', 'UTC')}"
        return f"every {config.get('interval')}"
    if row.kind == "event":
        return f"events {config.get('type')!r}"
    return f"pgmq queue {config.get('queue')!r}"


def cmd_list(settings: Settings, args: argparse.Namespace) -> int:
    with database_dsn(settings) as dsn:
        rows = _with_connection(
            dsn,
            lambda conn: trigger_store.list_triggers(
                conn, workflow=args.workflow, cursor=None, limit=10_000
            ),
        )
    if not rows:
        print("no triggers")
        return 0
    width = max(len(r.workflow) for r in rows)
    print(
        f"{'ID':<36}  {'WORKFLOW':<{width}}  {'KIND':<7}  {'STATE':<8}  NEXT FIRE (UTC)      WHAT"
    )
    for r in rows:
        state = "enabled" if r.enabled else "disabled"
        when = f"{r.next_fire_at.astimezone(UTC):%Y-%m-%d %H:%M:%S}" if r.next_fire_at else ""
        print(
            f"{r.id!s:<36}  {r.workflow:<{width}}  {r.kind:<7}  {state:<8}  {when:<19}  "
            f"{describe(r)}"
        )
    return 0


def cmd_create(settings: Settings, args: argparse.Namespace) -> int:
    try:
        config = msgspec.json.decode(args.config)
    except msgspec.DecodeError as exc:
        raise CliError(f"--config is not valid JSON: {exc}") from None
    new = TriggerIn(
        workflow=args.workflow,
        kind=args.kind,
        config=config,
        input_mapping=args.input_mapping,
        enabled=not args.disabled,
        secret=args.secret,
    )

    async def create(conn: asyncpg.Connection[Any]) -> CreatedTrigger:
        try:
            return await create_trigger(conn, new, actor=None)
        except TriggerConfigError as exc:
            lines = "\n".join(f"  {path}: {message}" for path, message in exc.issues)
            raise CliError(f"invalid trigger:\n{lines}") from None
        except store.StoreError as exc:
            raise CliError(str(exc)) from None

    with database_dsn(settings) as dsn:
        migrate(dsn)
        created = _with_connection(dsn, create)
    print(f"{created.row.id}  {created.row.kind}  {describe(created.row)}")
    if created.secret is not None:
        print(f"secret: {created.secret}")
        print("(the secret is shown once; store it with the sender now)", file=sys.stderr)
    return 0


def cmd_delete(settings: Settings, args: argparse.Namespace) -> int:
    try:
        trigger_id = UUID(args.id)
    except ValueError:
        raise CliError(f"{args.id!r} is not a trigger id (a UUID)") from None
    with database_dsn(settings) as dsn:
        found = _with_connection(
            dsn, lambda conn: trigger_store.delete_trigger(conn, trigger_id, None)
        )
    if not found:
        raise CliError(f"trigger {trigger_id} does not exist")
    print(f"deleted trigger {trigger_id}")
    return 0


def cmd_install_pgmq(settings: Settings, args: argparse.Namespace) -> int:
    try:
        from flowsync.pgmq.install import install_pgmq
    except ImportError:
        raise CliError("the pgmq extra is not installed: pip install 'flowsync[pgmq]'") from None
    with database_dsn(settings) as dsn:
        installed = install_pgmq(dsn)
    print("pgmq installed" if installed else "pgmq was already installed")
    return 0


def add_trigger_commands(sub: Any, add: Any) -> None:
    """Register `triggers list|create|delete|install-pgmq` on the `flowsync` parser."""
    triggers = add("triggers", lambda s, a: 0, "webhook, cron, event and pgmq triggers")
    tr_sub = triggers.add_subparsers(dest="triggers_command", required=True, metavar="ACTION")
    listing = add("list", cmd_list, "list triggers", tr_sub)
    listing.add_argument("--workflow", help="only this workflow's")
    create = add("create", cmd_create, "create a trigger and print it", tr_sub)
    create.add_argument("workflow", help="the workflow it starts")
    create.add_argument("--kind", choices=KINDS, required=True)
    create.add_argument(
        "--config",
        default="{}",
        metavar="JSON",
        help='kind-specific, e.g. \'{"cron": "0 9 * * *", "timezone": "Europe/Berlin"}\'',
    )
    create.add_argument("--input-mapping", metavar="CEL", help="expression building the input")
    create.add_argument("--secret", help="webhook secret (default: a random one, printed once)")
    create.add_argument("--disabled", action="store_true", help="create it disabled")
    add("delete", cmd_delete, "delete a trigger", tr_sub).add_argument("id")
    add("install-pgmq", cmd_install_pgmq, "install PGMQ's SQL (no C extension needed)", tr_sub)
