"""The benchmark's PostgreSQL, and a fresh database for every measurement.

    embedded server (durable: fsync on, synchronous_commit on) in a temp dir on disk,
    or FLOWSYNC_DATABASE_URL's server
        └─ flowsync_bench_template_<pid>: FlowSync migrated + bench workflows, PgQueuer's
           schema (when a PgQueuer measurement runs), the floor's job table
              └─ flowsync_bench_<pid>_<n>: cloned for one measurement, dropped after it

(Named by process, so that two runs against one server do not drop each other's.)

Cloning keeps every repetition of every scenario on the same starting state (no bloat or
statistics carried over from the previous one) while all of them share one server.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

from flowsync.embedded import EmbeddedPostgres

_SETTINGS = (
    "server_version",
    "fsync",
    "synchronous_commit",
    "full_page_writes",
    "wal_level",
    "shared_buffers",
    "max_connections",
    "autovacuum",
)


class BenchServer:
    def __init__(
        self, admin_dsn: str, embedded: EmbeddedPostgres | None, data_dir: Path | None
    ) -> None:
        self.admin_dsn = admin_dsn
        self.embedded = embedded
        self.data_dir = data_dir
        self.template = f"flowsync_bench_template_{os.getpid()}"
        self._counter = itertools.count(1)
        self._databases: set[str] = set()

    @classmethod
    def start(cls, database_url: str | None) -> BenchServer:
        if database_url:
            return cls(database_url, None, None)
        # A temp dir on the default (disk-backed) TMPDIR, never /dev/shm: fsync must cost
        # what it costs in production.
        data_dir = Path(tempfile.mkdtemp(prefix="flowsync-bench-"))
        server = EmbeddedPostgres(data_dir, durable=True)
        try:
            server.start()
        except BaseException:
            shutil.rmtree(data_dir, ignore_errors=True)
            raise
        return cls(server.dsn(), server, data_dir)

    def dsn_for(self, database: str) -> str:
        parts = urlsplit(self.admin_dsn)
        return urlunsplit(parts._replace(path=f"/{database}"))

    def build_template(self, prepare: Callable[[str], None]) -> None:
        """Create the template database and let `prepare(dsn)` fill it."""
        self._drop(self.template)
        self._execute(f'CREATE DATABASE "{self.template}"')
        prepare(self.dsn_for(self.template))

    @contextlib.contextmanager
    def fresh_database(self) -> Iterator[str]:
        """A database cloned from the template for the `with` block; its DSN."""
        name = f"flowsync_bench_{os.getpid()}_{next(self._counter)}"
        self._drop(name)
        self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        self._databases.add(name)
        try:
            yield self.dsn_for(name)
        finally:
            self._drop(name)
            self._databases.discard(name)

    def describe(self) -> dict[str, Any]:
        """Server settings that decide what the numbers mean."""
        info: dict[str, Any] = {
            "kind": "embedded" if self.embedded else "FLOWSYNC_DATABASE_URL",
        }
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            for name in _SETTINGS:
                row = conn.execute(f"SHOW {name}").fetchone()
                info[name] = row[0] if row else None
        if self.data_dir is not None:
            info["data_dir"] = str(self.data_dir)
            info["data_dir_filesystem"] = filesystem_of(self.data_dir)
        return info

    def stop(self) -> None:
        for name in [*self._databases, self.template]:
            with contextlib.suppress(psycopg.Error):
                self._drop(name)
        if self.embedded is not None:
            self.embedded.stop()
        if self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def _drop(self, name: str) -> None:
        self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _execute(self, sql: str) -> None:
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(sql.encode())


def filesystem_of(path: Path) -> str:
    """The filesystem type holding `path` (from /proc/mounts), e.g. ext4 or tmpfs."""
    best, kind = "", "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/mounts").read_text().splitlines():
            fields = line.split()
            if len(fields) < 3:
                continue
            mount = fields[1]
            inside = str(path.resolve()).startswith(mount.rstrip("/") + "/") or mount == "/"
            if inside and len(mount) > len(best):
                best, kind = mount, fields[2]
    return kind
