"""sql/schema.sql must match what the migrations build (bin/flowsync schema-snapshot)."""

from __future__ import annotations

from flowsync.snapshot import dump_schema, snapshot_path
from tests.pg import TEMPLATE, ServerForTests


def test_committed_snapshot_matches_migrations(pg_server: ServerForTests) -> None:
    current = dump_schema(pg_server.dsn_for(TEMPLATE))
    committed = snapshot_path().read_text()
    assert current == committed, (
        "sql/schema.sql is out of date with sql/migrations; run: bin/flowsync schema-snapshot"
    )
