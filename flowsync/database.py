"""Which Postgres a command uses: FLOWSYNC_DATABASE_URL, or the embedded server in data_dir."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import psycopg

from flowsync.config import Settings
from flowsync.embedded import EmbeddedPostgres, EmbeddedPostgresError

EMBEDDED_DATABASE = "flowsync"


def _owned_by_running_process(data_dir: Path) -> bool:
    """True when another process (e.g. `flowsync dev`) holds the embedded server's lock."""
    lock_path = data_dir / "server.lock"
    if not lock_path.exists():
        return False
    fd = os.open(lock_path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def running_embedded_dsn(data_dir: Path) -> str:
    password = (data_dir / "password").read_text().strip()
    port = int((data_dir / "port").read_text())
    return f"postgresql://postgres:{quote(password, safe='')}@127.0.0.1:{port}/{EMBEDDED_DATABASE}"


def _wait_until_accepting(data_dir: Path, timeout: float = 60.0) -> str:
    """The DSN of the server another process runs, once it accepts connections (it may be
    starting right now)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            dsn = running_embedded_dsn(data_dir)
            with psycopg.connect(dsn, connect_timeout=2):
                return dsn
        except (OSError, ValueError, psycopg.OperationalError) as exc:
            if time.monotonic() > deadline:
                raise EmbeddedPostgresError(
                    f"the embedded server in {data_dir} (run by another FlowSync process) did "
                    f"not accept connections within {timeout:.0f}s: {exc}"
                ) from None
            time.sleep(0.1)


@contextlib.contextmanager
def database_dsn(settings: Settings) -> Iterator[str]:
    """Yield a DSN for the whole `with` block.

    With no database URL, use the embedded server: the one `flowsync dev` is running, or one
    started for this command alone and stopped at the end.
    """
    if settings.database_url:
        yield settings.database_url
        return
    data_dir = settings.data_dir.resolve()
    if _owned_by_running_process(data_dir):
        yield _wait_until_accepting(data_dir)
        return
    server = EmbeddedPostgres(data_dir)
    server.start()
    try:
        server.create_database(EMBEDDED_DATABASE)
        yield server.dsn(EMBEDDED_DATABASE)
    finally:
        server.stop()
