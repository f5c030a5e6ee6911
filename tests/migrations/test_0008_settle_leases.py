"""Migration 0008 drops _settle's old form and the functions it replaces (_dispatch,
_lease_steps): a database at 0007 (with the functions of then, here stand-ins with their
signatures) has only today's functions after the upgrade, and hands a chain's next step to
the worker that reported the one before it."""

from __future__ import annotations

from pathlib import Path

import psycopg
from psycopg.rows import dict_row

from tests.migrations.conftest import function_forms, run_two_step_chain, upgrade_from

# The 0007-era signatures (bodies do not matter: the upgrade must replace them).
FUNCTIONS_AT_0007 = """
CREATE FUNCTION flowsync._settle(p_terminal bigint[], p_now timestamptz)
RETURNS flowsync.ready_steps LANGUAGE sql AS 'SELECT NULL::flowsync.ready_steps';
CREATE FUNCTION flowsync._dispatch(
    p_ready flowsync.ready_steps, p_worker text, p_queues text[], p_limit integer,
    p_lease_ms integer, p_now timestamptz
) RETURNS SETOF flowsync.step_claim LANGUAGE sql AS 'SELECT NULL::flowsync.step_claim LIMIT 0';
CREATE FUNCTION flowsync._lease_steps(
    p_step_ids bigint[], p_worker text, p_lease_ms integer, p_now timestamptz
) RETURNS SETOF flowsync.step_claim LANGUAGE sql AS 'SELECT NULL::flowsync.step_claim LIMIT 0';
"""


def test_an_upgraded_database_has_todays_functions_only_and_hands_a_chain_off(
    empty_dsn: str, sql_copy: Path
) -> None:
    upgrade_from(empty_dsn, 7, sql_copy, FUNCTIONS_AT_0007)

    with psycopg.connect(empty_dsn, autocommit=True, row_factory=dict_row) as conn:
        forms = function_forms(
            conn, "_settle", "_dispatch", "_lease_steps", "_enqueue", "_step_claims"
        )
        assert forms == {"_settle": 1, "_enqueue": 1, "_step_claims": 1}

        rows = run_two_step_chain(conn)
        assert [(r["result"], r["node_id"], r["attempt"]) for r in rows] == [
            ("ok", None, None),
            ("claimed", "s1", 1),
        ]
