"""sql/schema.sql: a pg_dump of a freshly migrated database, committed so schema drift shows."""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from flowsync.embedded import EmbeddedPostgres, binaries_dir
from flowsync.migrate import migrate, sql_dir

_VOLATILE = re.compile(r"^(-- Dumped (from|by) .*|\\(un)?restrict .*)$", re.MULTILINE)


def dump_schema(dsn: str) -> str:
    """Schema-only dump of the flowsync schema, without lines that vary between runs."""
    parts = urlsplit(dsn)
    result = subprocess.run(
        [
            str(binaries_dir() / "pg_dump"),
            "--schema-only",
            "--schema=flowsync",
            "--no-owner",
            "--no-privileges",
            f"--dbname={dsn}",
        ],
        capture_output=True,
        text=True,
        check=True,
        env={"PGPASSWORD": parts.password or ""},
    )
    return _VOLATILE.sub("", result.stdout).strip() + "\n"


def snapshot_path() -> Path:
    return sql_dir() / "schema.sql"


def write_snapshot() -> Path:
    with tempfile.TemporaryDirectory(prefix="flowsync-snapshot-") as tmp:
        server = EmbeddedPostgres(Path(tmp), durable=False)
        server.start()
        try:
            server.create_database("snapshot")
            dsn = server.dsn("snapshot")
            migrate(dsn)
            text = dump_schema(dsn)
        finally:
            server.stop()
    path = snapshot_path()
    path.write_text(text)
    return path
