"""Databases for migration tests: empty ones, and ones brought to an older version."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from flowsync.migrate import load_migrations, migrate, sql_dir
from tests.pg import ServerForTests


@pytest.fixture
def empty_dsn(pg_server: ServerForTests) -> Iterator[str]:
    name = pg_server.create_database(template=None)
    try:
        yield pg_server.dsn_for(name)
    finally:
        pg_server.drop_database(name)


@pytest.fixture
def sql_copy(tmp_path: Path) -> Path:
    """A private copy of sql/ that a test may change."""
    target = tmp_path / "sql"
    shutil.copytree(sql_dir(), target)
    return target


def migrate_to(dsn: str, version: int, sql_copy: Path) -> None:
    """Bring the database at `dsn` to migration `version`, without today's functions (they
    may need later migrations): the state a database of that time is upgraded from."""
    for later in load_migrations(sql_copy / "migrations"):
        if later.version > version:
            later.path.unlink()
    shutil.rmtree(sql_copy / "functions")
    (sql_copy / "functions").mkdir()
    migrate(dsn, directory=sql_copy)


def upgrade_from(dsn: str, version: int, sql_copy: Path, state: str) -> None:
    """A database of migration `version` holding `state` (SQL run at that version), upgraded
    to today's schema and functions."""
    migrate_to(dsn, version, sql_copy)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(state.encode())
    migrate(dsn)
