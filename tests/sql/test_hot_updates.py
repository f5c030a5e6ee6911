"""A step's and an execution's updates on the hot path are HOT: they write no index entry.

No index of `steps` or `executions` reads a column the hot path changes (migrations 0005 and
0006), and both tables leave room on each page for a row's next two versions even while
another transaction keeps the old ones from being pruned (fillfactor 30, migration 0007). An
index on, say, `steps.status` would make every lease and every finish write an entry into
each index of the table. Counted by PostgreSQL's own statistics, which do not depend on the
machine."""

from __future__ import annotations

import psycopg

from tests.sql.conftest import Db, chain

EXECUTIONS = 200
MIN_HOT_SHARE = 0.9  # all of them, bar a page that had no room left before pruning


def _updates(db: Db, table: str) -> tuple[int, int]:
    """(updates, HOT updates) of flowsync.<table> so far."""
    db.conn.execute("SELECT pg_stat_force_next_flush()")
    row = db.conn.execute(
        "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables "
        "WHERE schemaname = 'flowsync' AND relname = %s",
        (table,),
    ).fetchone()
    assert row is not None
    return int(row["n_tup_upd"]), int(row["n_tup_hot_upd"])


def test_leasing_and_finishing_steps_are_hot_updates(db: Db, database_dsn: str) -> None:
    db.save(chain("one", 1))
    db.save(chain("three", 3))
    for _ in range(EXECUTIONS):
        db.start("one")
    db.start("three")
    before = {table: _updates(db, table) for table in ("steps", "executions")}

    # A transaction in flight elsewhere (another worker's round trip, a report): the rows'
    # old versions stay until it ends, so each page needs room for both new ones.
    with psycopg.connect(database_dsn) as elsewhere:
        elsewhere.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        elsewhere.execute("SELECT count(*) FROM flowsync.steps")
        db.run_all()

    statuses = db.conn.execute(
        "SELECT status::text, count(*) AS n FROM flowsync.executions GROUP BY status"
    ).fetchall()
    assert [(r["status"], r["n"]) for r in statuses] == [("succeeded", EXECUTIONS + 1)]
    for table, (updates_before, hot_before) in before.items():
        updates, hot = _updates(db, table)
        updates, hot = updates - updates_before, hot - hot_before
        # (steps: a lease and a finish each, the chain's later steps also queued; executions:
        # started and finished)
        assert updates >= 2 * (EXECUTIONS + 1), table
        assert hot >= MIN_HOT_SHARE * updates, f"{table}: {hot} of {updates} updates were HOT"
