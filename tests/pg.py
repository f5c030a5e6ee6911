"""The test Postgres: one server per session, one database per test cloned from a template."""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

from flowsync.embedded import EmbeddedPostgres
from flowsync.migrate import migrate

TEMPLATE = "flowsync_template"


@dataclass
class ServerForTests:
    admin_dsn: str
    _counter: Iterator[int] = field(default_factory=itertools.count)

    def dsn_for(self, database: str) -> str:
        parts = urlsplit(self.admin_dsn)
        return urlunsplit(parts._replace(path=f"/{database}"))

    def create_database(self, template: str | None = TEMPLATE) -> str:
        name = f"t_{os.getpid()}_{next(self._counter)}"
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            if template:
                conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
            else:
                conn.execute(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def build_template(self) -> None:
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{TEMPLATE}"')
        migrate(self.dsn_for(TEMPLATE))


def _scratch_dir() -> Path:
    shm = Path("/dev/shm")  # noqa: S108 - a private mkdtemp inside it, for speed
    base = shm if shm.is_dir() and os.access(shm, os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix="flowsync-test-", dir=base))


def start_test_server() -> tuple[ServerForTests, EmbeddedPostgres | None]:
    """FLOWSYNC_TEST_DATABASE_URL (a superuser DSN) when given, else an embedded server."""
    external = os.environ.get("FLOWSYNC_TEST_DATABASE_URL")
    if external:
        return ServerForTests(external), None
    server = EmbeddedPostgres(_scratch_dir(), durable=False)
    server.start()
    return ServerForTests(server.dsn()), server
