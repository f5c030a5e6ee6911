"""Shared fixtures: the session's Postgres server, a fresh migrated database per test, a Db."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator

import psycopg
import pytest
from psycopg.rows import dict_row

from tests.pg import ServerForTests, start_test_server
from tests.sql.conftest import Db


@pytest.fixture(autouse=True)
def no_leaked_log_handler() -> Iterator[None]:
    """A CLI command run in-process points the root logger at the stderr of that moment
    (configure_logging), which pytest closes after the test: a thread logging later (the
    SMTP test server's) would then fail to write. Take such a handler away again."""
    root = logging.getLogger()
    before, level = set(root.handlers), root.level
    yield
    for handler in root.handlers[:]:
        if type(handler) is logging.StreamHandler and handler not in before:
            root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[ServerForTests]:
    server, embedded = start_test_server()
    try:
        server.build_template()
        yield server
    finally:
        if embedded is not None:
            embedded.stop()
            shutil.rmtree(embedded.data_dir, ignore_errors=True)


@pytest.fixture
def database_dsn(pg_server: ServerForTests) -> Iterator[str]:
    """DSN of a database of its own for this test, migrated, cloned from the template."""
    name = pg_server.create_database()
    try:
        yield pg_server.dsn_for(name)
    finally:
        pg_server.drop_database(name)


@pytest.fixture
def db(database_dsn: str) -> Iterator[Db]:
    """The test's database through Db's stored-procedure helpers (autocommit, dict rows)."""
    with psycopg.connect(database_dsn, autocommit=True, row_factory=dict_row) as conn:
        yield Db(conn)


@pytest.fixture
def cli_db(database_dsn: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The test's database, for `flowsync` commands run in this process (JSON logs)."""
    monkeypatch.setenv("FLOWSYNC_DATABASE_URL", database_dsn)
    monkeypatch.setenv("FLOWSYNC_LOG_FORMAT", "json")
    return database_dsn
