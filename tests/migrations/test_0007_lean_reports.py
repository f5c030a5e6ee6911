"""Migration 0007 drops the forms of _settle, _dispatch and report_steps whose types changed,
so that the functions created after it are the only ones: a database at 0006 (with the
functions of then, here stand-ins with their signatures) runs a chain after the upgrade.
(_dispatch is gone since 0008.)"""

from __future__ import annotations

from pathlib import Path

import psycopg
from psycopg.rows import dict_row

from tests.migrations.conftest import function_forms, run_two_step_chain, upgrade_from

# The 0006-era signatures (bodies do not matter: the upgrade must replace them).
FUNCTIONS_AT_0006 = """
CREATE FUNCTION flowsync._settle(p_terminal bigint[], p_now timestamptz) RETURNS bigint[]
LANGUAGE sql AS 'SELECT p_terminal';
CREATE FUNCTION flowsync._dispatch(
    p_ready bigint[], p_worker text, p_queues text[], p_limit integer, p_lease_ms integer,
    p_now timestamptz
) RETURNS SETOF flowsync.step_claim LANGUAGE sql AS 'SELECT NULL::flowsync.step_claim LIMIT 0';
CREATE FUNCTION flowsync.report_steps(
    p_worker text, p_reports jsonb, p_queues text[] DEFAULT '{}', p_limit integer DEFAULT 0,
    p_lease_ms integer DEFAULT 30000, p_now timestamptz DEFAULT now()
) RETURNS SETOF flowsync.step_claim LANGUAGE sql AS 'SELECT NULL::flowsync.step_claim LIMIT 0';
"""


def test_an_upgraded_database_has_one_form_of_each_function_and_runs_a_chain(
    empty_dsn: str, sql_copy: Path
) -> None:
    upgrade_from(empty_dsn, 6, sql_copy, FUNCTIONS_AT_0006)

    with psycopg.connect(empty_dsn, autocommit=True, row_factory=dict_row) as conn:
        forms = function_forms(conn, "_settle", "_dispatch", "report_steps")
        assert forms == {"_settle": 1, "report_steps": 1}
        indexes = conn.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = 'flowsync' "
            "AND indexname IN ('leases_expires_at_idx', 'workflow_nodes_leaves_idx')"
        ).fetchall()
        assert [r["indexname"] for r in indexes] == ["workflow_nodes_leaves_idx"]

        rows = run_two_step_chain(conn)
        assert [(r["result"], r["node_id"]) for r in rows] == [("ok", None), ("claimed", "s1")]
