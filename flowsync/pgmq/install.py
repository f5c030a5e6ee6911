"""Installing PGMQ's SQL (shipped by the `pgmq` package) into a database, once.

The package's installer works without the C extension but is not idempotent, so it runs only
when the `pgmq` schema is absent, under an advisory lock so concurrent installs wait for each
other. It is handed a connection (it would drop a `?host=` socket parameter from a DSN).
"""

from __future__ import annotations

import psycopg

__all__ = ["INSTALL_LOCK_KEY", "install_pgmq"]

# Arbitrary but fixed, next to the migration lock's key.
INSTALL_LOCK_KEY = 7_340_721_385_002


def install_pgmq(dsn: str) -> bool:
    """Install PGMQ unless it is there; True when this call installed it."""
    from pgmq import install_pgmq_from_sql

    with psycopg.connect(dsn, autocommit=False, application_name="flowsync-pgmq-install") as conn:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (INSTALL_LOCK_KEY,))
        row = conn.execute("SELECT to_regclass('pgmq.meta') IS NOT NULL").fetchone()
        if row is not None and row[0]:
            conn.rollback()
            return False
        install_pgmq_from_sql(conn=conn)
        conn.commit()
    return True
