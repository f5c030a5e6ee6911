"""The migrator: idempotent, safe under concurrency, refuses changed files and newer databases."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from flowsync.migrate import MigrationError, load_migrations, migrate, sql_dir


def applied_versions(dsn: str) -> list[tuple[int, str]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT version, checksum FROM flowsync.schema_migrations ORDER BY version"
        ).fetchall()


def test_first_run_applies_every_migration_in_order(empty_dsn: str) -> None:
    report = migrate(empty_dsn)
    files = load_migrations()
    assert report.applied == [m.path.name for m in files]
    assert applied_versions(empty_dsn) == [(m.version, m.checksum) for m in files]
    assert report.functions == len(list((sql_dir() / "functions").glob("*.sql")))


def test_second_run_is_a_no_op(empty_dsn: str) -> None:
    migrate(empty_dsn)
    before = applied_versions(empty_dsn)
    report = migrate(empty_dsn)
    assert report.applied == []
    assert applied_versions(empty_dsn) == before


def test_concurrent_migrators_apply_each_migration_once(empty_dsn: str) -> None:
    code = (
        "import sys; from flowsync.migrate import migrate; print(len(migrate(sys.argv[1]).applied))"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, empty_dsn], stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0]
    # Exactly one process applied everything; the others found nothing left to do.
    assert sorted(int(o) for o in outputs) == [0, 0, 0, len(load_migrations())]
    assert [v for v, _ in applied_versions(empty_dsn)] == [m.version for m in load_migrations()]


def test_changed_applied_migration_is_refused(empty_dsn: str, sql_copy: Path) -> None:
    migrate(empty_dsn, directory=sql_copy)
    first = sorted((sql_copy / "migrations").glob("*.sql"))[0]
    first.write_text(first.read_text() + "\n-- edited after landing\n")
    with pytest.raises(MigrationError, match=f"{first.name} was changed after it was applied"):
        migrate(empty_dsn, directory=sql_copy)


def test_database_newer_than_code_is_refused(empty_dsn: str, sql_copy: Path) -> None:
    extra = sql_copy / "migrations" / f"{len(load_migrations()) + 1:04d}_future.sql"
    extra.write_text("CREATE TABLE flowsync.from_the_future (id int);")
    migrate(empty_dsn, directory=sql_copy)
    with pytest.raises(MigrationError, match="newer than this FlowSync"):
        migrate(empty_dsn)  # the real sql/ lacks the future migration


def test_failed_migration_rolls_back_and_records_nothing(empty_dsn: str, sql_copy: Path) -> None:
    migrate(empty_dsn, directory=sql_copy)
    before = applied_versions(empty_dsn)
    broken = sql_copy / "migrations" / f"{len(before) + 1:04d}_broken.sql"
    broken.write_text("CREATE TABLE flowsync.half_done (id int);\nSELECT * FROM no_such_table;")
    with pytest.raises(psycopg.errors.UndefinedTable):
        migrate(empty_dsn, directory=sql_copy)
    assert applied_versions(empty_dsn) == before
    with psycopg.connect(empty_dsn) as conn:
        assert conn.execute("SELECT to_regclass('flowsync.half_done')").fetchone() == (None,)


def test_gap_in_numbering_is_refused(sql_copy: Path) -> None:
    (sql_copy / "migrations" / "0099_far_away.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="expected migration number"):
        load_migrations(sql_copy / "migrations")


def test_functions_are_reapplied_on_every_run(empty_dsn: str, sql_copy: Path) -> None:
    migrate(empty_dsn, directory=sql_copy)
    (sql_copy / "functions" / "zz_probe.sql").write_text(
        "CREATE OR REPLACE FUNCTION flowsync.zz_probe() RETURNS int LANGUAGE sql AS 'SELECT 42';"
    )
    report = migrate(empty_dsn, directory=sql_copy)
    assert report.applied == []
    with psycopg.connect(empty_dsn) as conn:
        assert conn.execute("SELECT flowsync.zz_probe()").fetchone() == (42,)
