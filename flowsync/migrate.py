"""Applies sql/migrations in order and re-applies sql/functions, under an advisory lock.

Every migration runs in its own transaction and is recorded with the SHA-256 of its file in
flowsync.schema_migrations. The migrator refuses to run when a recorded migration's file has
changed or is missing (the database is newer than this code).
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

# Arbitrary but fixed: every FlowSync process migrating one database contends on this key.
MIGRATION_LOCK_KEY = 7_340_721_385_001
_MIGRATION_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


def sql_dir() -> Path:
    """The sql/ directory (FLOWSYNC_SQL_DIR overrides, for unusual installs)."""
    override = os.environ.get("FLOWSYNC_SQL_DIR")
    return Path(override) if override else Path(__file__).resolve().parent.parent / "sql"


class MigrationError(RuntimeError):
    """The database and the code disagree; nothing was changed."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


@dataclass
class MigrationReport:
    applied: list[str] = field(default_factory=list)
    functions: int = 0
    current_version: int = 0


def load_migrations(directory: Path | None = None) -> list[Migration]:
    directory = directory or sql_dir() / "migrations"
    migrations: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        match = _MIGRATION_FILE.match(path.name)
        if not match:
            raise MigrationError(f"{path}: migration files are named NNNN_name.sql")
        migrations.append(
            Migration(int(match.group(1)), match.group(2), path, path.read_text("utf-8"))
        )
    for expected, migration in enumerate(migrations, start=1):
        if migration.version != expected:
            raise MigrationError(
                f"{migration.path}: expected migration number {expected:04d} (numbers are "
                "consecutive, starting at 0001)"
            )
    return migrations


def load_functions(directory: Path | None = None) -> list[Path]:
    directory = directory or sql_dir() / "functions"
    return sorted(directory.glob("*.sql"))


def migrate(dsn: str, *, directory: Path | None = None) -> MigrationReport:
    """Bring the database at `dsn` up to date. Safe to call from many processes at once."""
    root = directory or sql_dir()
    migrations = load_migrations(root / "migrations")
    functions = load_functions(root / "functions")
    report = MigrationReport()
    with psycopg.connect(dsn, autocommit=True, application_name="flowsync-migrate") as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))
        try:
            conn.execute((root / "bootstrap.sql").read_text("utf-8"))
            applied = {
                version: (name, checksum)
                for version, name, checksum in conn.execute(
                    "SELECT version, name, checksum FROM flowsync.schema_migrations"
                )
            }
            _check_history(applied, migrations)
            for migration in migrations:
                if migration.version in applied:
                    continue
                with conn.transaction():
                    conn.execute(migration.sql)
                    conn.execute(
                        "INSERT INTO flowsync.schema_migrations (version, name, checksum) "
                        "VALUES (%s, %s, %s)",
                        (migration.version, migration.name, migration.checksum),
                    )
                report.applied.append(migration.path.name)
            with conn.transaction():
                # Function files may call each other; bodies are checked when first called.
                conn.execute("SET LOCAL check_function_bodies = off")
                for path in functions:
                    conn.execute(path.read_text("utf-8"))
            report.functions = len(functions)
            report.current_version = migrations[-1].version if migrations else 0
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))
    return report


def _check_history(applied: dict[int, tuple[str, str]], migrations: list[Migration]) -> None:
    known = {m.version: m for m in migrations}
    newer = sorted(v for v in applied if v not in known)
    if newer:
        raise MigrationError(
            f"the database has migration {newer[-1]:04d} ({applied[newer[-1]][0]}) that this "
            f"code does not know (code goes up to {len(migrations):04d}): the database is "
            "newer than this FlowSync; upgrade FlowSync before starting it"
        )
    for version, (_name, checksum) in sorted(applied.items()):
        migration = known[version]
        if migration.checksum != checksum:
            raise MigrationError(
                f"{migration.path.name} was changed after it was applied to this database "
                f"(recorded sha256 {checksum[:12]}…, file has {migration.checksum[:12]}…); "
                "applied migrations are never edited: restore the file and add a new migration"
            )
