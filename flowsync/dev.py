"""`flowsync dev` and `flowsync api`: migrate, make sure an admin key exists, serve."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import asyncpg
import uvicorn

from flowsync import aio, keys, store
from flowsync.api.app import create_app
from flowsync.config import Settings
from flowsync.database import EMBEDDED_DATABASE
from flowsync.embedded import EmbeddedPostgres
from flowsync.log import get_logger
from flowsync.migrate import migrate
from flowsync.scheduler import Scheduler, SchedulerConfig
from flowsync.worker import Worker, WorkerConfig

log = get_logger("flowsync.dev")


def serve(settings: Settings, dsn: str, *, with_worker: bool = False) -> None:
    """Run the API (and, for dev, a worker and a scheduler) until SIGINT/SIGTERM; all drain
    before exiting."""
    config = uvicorn.Config(
        create_app(settings, dsn),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        lifespan="on",
    )
    # uvicorn drains on SIGINT/SIGTERM, then re-raises the signal to the handler that was
    # there before it; a do-nothing handler keeps that from killing us before cleanup runs.
    previous = {sig: signal.signal(sig, lambda *_: None) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        timeout = settings.db_command_timeout
        worker = (
            WorkerConfig(grace_seconds=10.0, db_command_timeout=timeout) if with_worker else None
        )
        scheduler = (
            SchedulerConfig(retention=settings.retention, db_command_timeout=timeout)
            if with_worker
            else None
        )
        aio.run(_serve(uvicorn.Server(config), dsn, worker, scheduler))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


async def _serve(
    server: uvicorn.Server,
    dsn: str,
    worker: WorkerConfig | None,
    scheduler: SchedulerConfig | None,
) -> None:
    stop = asyncio.Event()
    worker_task = None
    scheduler_task = None
    if worker is not None:
        worker_task = asyncio.create_task(Worker(dsn, worker).run(stop))
    if scheduler is not None:
        scheduler_task = asyncio.create_task(Scheduler(dsn, scheduler).run(stop))
    try:
        await server.serve()
    finally:
        stop.set()
        if worker_task is not None:
            await worker_task
        if scheduler_task is not None:
            await scheduler_task


async def _ensure_admin_key(dsn: str, saved: str | None, may_create: bool) -> str | None:
    """`saved` if it still works; else a new admin key when `may_create`; else None."""
    conn = await asyncpg.connect(dsn)
    try:
        if saved and await store.authenticate_api_key(conn, keys.hash_api_key(saved)):
            return saved
        if not may_create:
            return None
        key = keys.new_api_key()
        await store.create_api_key(
            conn, keys.hash_api_key(key), keys.display_prefix(key), ["admin"], "dev"
        )
        return key
    finally:
        await conn.close()


def dev_admin_key(dsn: str, key_file: Path | None) -> tuple[str | None, bool]:
    """The admin key to show, and whether it is new.

    With a data directory, the key is kept in `key_file` and shown on every start; against an
    external database, a key is created (and shown once) only when the database has none.
    """
    saved = key_file.read_text().strip() if key_file and key_file.exists() else None
    may_create = key_file is not None or asyncio.run(_count_keys(dsn)) == 0
    key = asyncio.run(_ensure_admin_key(dsn, saved, may_create))
    created = key is not None and key != saved
    if created and key_file is not None and key is not None:
        key_file.touch(mode=0o600)
        key_file.write_text(key + "\n")
    return key, created


async def _count_keys(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return await store.count_api_keys(conn)
    finally:
        await conn.close()


def _banner(settings: Settings, dsn: str, key: str | None, created: bool) -> None:
    url = f"http://{settings.host}:{settings.port}"
    lines = [
        "FlowSync is starting",
        f"  API:          {url}   (OpenAPI: {url}/schema)",
        f"  Database URL: {dsn}",
    ]
    if key is not None:
        lines.append(f"  Admin API key: {key}" + ("   (new)" if created else ""))
    else:
        lines.append(
            "  Admin API key: keys exist already; create one with "
            "'bin/flowsync api-key create --scope admin'"
        )
    lines.append("  Stop with Ctrl-C.")
    print("\n".join(lines), flush=True)


def run_dev(settings: Settings) -> int:
    if settings.database_url:
        migrate(settings.database_url)
        key, created = dev_admin_key(settings.database_url, None)
        _banner(settings, settings.database_url, key, created)
        serve(settings, settings.database_url, with_worker=True)
        return 0
    data_dir = settings.data_dir.resolve()
    server = EmbeddedPostgres(data_dir)
    print(f"starting embedded PostgreSQL in {data_dir} ...", file=sys.stderr, flush=True)
    server.start()
    try:
        server.create_database(EMBEDDED_DATABASE)
        dsn = server.dsn(EMBEDDED_DATABASE)
        migrate(dsn)
        key, created = dev_admin_key(dsn, data_dir / "admin-key")
        _banner(settings, dsn, key, created)
        serve(settings, dsn, with_worker=True)
    finally:
        server.stop()
        log.info("dev.stopped")
    return 0


def run_api(settings: Settings) -> int:
    from flowsync.database import database_dsn

    with database_dsn(settings) as dsn:
        migrate(dsn)
        serve(settings, dsn)
    return 0
