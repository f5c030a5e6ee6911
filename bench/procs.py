"""The processes under test, each its own OS process as in production: `python -m flowsync
worker` / `python -m flowsync api` and the PgQueuer baseline worker. Started with the database
URL in the environment, watched (alive? peak RSS?) and stopped with SIGTERM."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import asyncpg

from bench.context import BenchError, Context, wait_until
from bench.memory import peak_rss_mb

REPO_ROOT = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT = 90.0


class Proc:
    def __init__(self, name: str, args: Sequence[str], dsn: str, log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        env = {
            **os.environ,
            "FLOWSYNC_DATABASE_URL": dsn,
            "FLOWSYNC_LOG_LEVEL": "warning",
            "FLOWSYNC_LOG_FORMAT": "json",
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p
            ),
        }
        self.started = time.monotonic()
        with open(log_path, "ab") as log:
            self.popen = subprocess.Popen(
                [sys.executable, *args],
                cwd=REPO_ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def check_alive(self) -> None:
        code = self.popen.poll()
        if code is not None:
            raise BenchError(
                f"{self.name} (pid {self.pid}) exited with code {code}; its log "
                f"({self.log_path}) ends with:\n{self._log_tail()}"
            )

    def peak_rss_mb(self) -> float:
        return peak_rss_mb(self.pid)

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM (the processes drain and exit), SIGKILL when that takes too long."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()

    def _log_tail(self, lines: int = 15) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""


def stop_all(procs: Sequence[Proc]) -> None:
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):
            proc.popen.send_signal(signal.SIGTERM)
    for proc in procs:
        proc.stop()


async def start_flowsync_workers(
    ctx: Context, conn: asyncpg.Connection, count: int, name: str
) -> tuple[list[Proc], float]:
    """Start `count` worker processes; return them once each has registered and its LISTEN
    connection is up, with the seconds that took (start-up: imports, migrate, connect)."""
    procs = [
        Proc(
            f"flowsync worker {i + 1}",
            ["-m", "flowsync", "worker", "--concurrency", str(ctx.sizes.concurrency)],
            ctx.dsn,
            ctx.log_path(f"{name}-worker{i + 1}"),
        )
        for i in range(count)
    ]
    pids = [p.pid for p in procs]

    async def ready() -> bool:
        row = await conn.fetchrow(
            """
            SELECT (SELECT count(*) FROM flowsync.workers
                    WHERE pid = ANY ($1::int[]) AND stopped_at IS NULL) AS registered,
                   (SELECT count(*) FROM pg_stat_activity
                    WHERE datname = current_database()
                      AND application_name = 'flowsync-worker-listen') AS listening
            """,
            pids,
        )
        assert row is not None
        return bool(row["registered"] == count and row["listening"] >= count)

    try:
        await wait_until(
            ready, what="worker start-up", within=STARTUP_TIMEOUT, interval=0.02, procs=procs
        )
    except BaseException:
        stop_all(procs)
        raise
    return procs, max(time.monotonic() - p.started for p in procs)


async def start_pgqueuer_workers(ctx: Context, count: int, name: str) -> tuple[list[Proc], float]:
    """Start `count` PgQueuer worker processes; return them once each has proven its LISTEN
    connection with a NOTIFY round trip (they touch a ready file)."""
    procs: list[Proc] = []
    ready_files: list[Path] = []
    for i in range(count):
        ready_file = ctx.log_dir / f"{name}-pgq{i + 1}.ready"
        ready_file.unlink(missing_ok=True)
        ready_files.append(ready_file)
        procs.append(
            Proc(
                f"pgqueuer worker {i + 1}",
                [
                    "-m",
                    "bench.baselines.pgqueuer_baseline",
                    "--batch-size",
                    str(ctx.sizes.batch_size),
                    "--ready-file",
                    str(ready_file),
                ],
                ctx.dsn,
                ctx.log_path(f"{name}-pgq{i + 1}"),
            )
        )

    async def ready() -> bool:
        return all(f.exists() for f in ready_files)

    try:
        await wait_until(
            ready, what="PgQueuer start-up", within=STARTUP_TIMEOUT, interval=0.02, procs=procs
        )
    except BaseException:
        stop_all(procs)
        raise
    return procs, max(time.monotonic() - p.started for p in procs)


def start_api(ctx: Context, port: int, name: str) -> Proc:
    return Proc(
        "flowsync api",
        ["-m", "flowsync", "api", "--host", "127.0.0.1", "--port", str(port)],
        ctx.dsn,
        ctx.log_path(f"{name}-api"),
    )
