"""Databases for migration tests: empty ones, and ones brought to an older version."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from flowsync.migrate import load_migrations, migrate, sql_dir
from tests.pg import ServerForTests
from tests.sql.conftest import Db, chain


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


def function_forms(conn: psycopg.Connection[dict[str, Any]], *names: str) -> dict[str, int]:
    """How many functions of each of these names the flowsync schema has (absent: not listed)."""
    rows = conn.execute(
        "SELECT p.proname, count(*) AS n FROM pg_proc p "
        "WHERE p.pronamespace = 'flowsync'::regnamespace AND p.proname = ANY (%s) "
        "GROUP BY p.proname",
        (list(names),),
    ).fetchall()
    return {r["proname"]: r["n"] for r in rows}


def run_two_step_chain(conn: psycopg.Connection[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run a two-step chain to its end: claim the first step, report it (the answer hands
    the second step over), succeed the second, check that the execution succeeded. Returns
    the first report's answer."""
    db = Db(conn)
    db.save(chain("c2", 2))
    execution_id = db.start("c2")
    (claim,) = db.claim()
    report = {"step_id": claim["step_id"], "token": str(claim["lease_token"]), "kind": "succeeded"}
    rows = db.report([report], limit=10)
    assert len(rows) == 2, rows
    assert db.succeed(rows[1]) == "ok"
    assert db.execution(execution_id)["status"] == "succeeded"
    return rows
