"""Migration 0006 moves running steps' leases into flowsync.leases and marks dead letters,
losing nothing a database at 0005 held."""

from __future__ import annotations

from pathlib import Path

import psycopg
from psycopg.rows import dict_row

from tests.migrations.conftest import upgrade_from

AT_0005 = """
INSERT INTO flowsync.workflows (id, name, latest_version) OVERRIDING SYSTEM VALUE
VALUES (1, 'wf', 1);
INSERT INTO flowsync.workflow_versions (workflow_id, version, definition, checksum)
VALUES (1, 1, '{}', repeat('0', 64));
INSERT INTO flowsync.workflow_nodes
    (workflow_id, version, node_idx, node_id, type, config, queue, join_rule, max_attempts,
     backoff, backoff_initial_ms, backoff_max_ms, jitter, continue_on_failure, upstream_count,
     is_leaf, context_nodes)
SELECT 1, 1, (i - 1)::integer, n, 'noop', '{}', 'default', 'all_success', 3, 'fixed', 1000,
       1000, false, false, 0, true, '{}'
FROM unnest(ARRAY['running', 'dead', 'pending']) WITH ORDINALITY AS x(n, i);
INSERT INTO flowsync.executions (id, workflow_id, version, status, steps_open, started_at)
VALUES ('00000000-0000-0000-0000-000000000001', 1, 1, 'running', 3, now());
INSERT INTO flowsync.steps (id, execution_id, node_idx, node_id, status, attempt, lease_token,
                            lease_expires_at, worker_id, started_at, finished_at)
OVERRIDING SYSTEM VALUE VALUES
    (1, '00000000-0000-0000-0000-000000000001', 0, 'running', 'running', 1,
     gen_random_uuid(), '2030-01-01T00:00:00Z', 'w1', now(), NULL),
    (2, '00000000-0000-0000-0000-000000000001', 1, 'dead', 'dead', 3,
     gen_random_uuid(), NULL, 'w1', now(), '2026-01-01T00:00:00Z'),
    (3, '00000000-0000-0000-0000-000000000001', 2, 'pending', 'pending', 0,
     NULL, NULL, NULL, NULL, NULL);
"""


def test_running_steps_keep_their_leases_and_dead_steps_stay_dead_letters(
    empty_dsn: str, sql_copy: Path
) -> None:
    upgrade_from(empty_dsn, 5, sql_copy, AT_0005)

    with psycopg.connect(empty_dsn, autocommit=True, row_factory=dict_row) as conn:
        leases = conn.execute(
            "SELECT step_id, worker_id, expires_at FROM flowsync.leases"
        ).fetchall()
        assert [(r["step_id"], r["worker_id"], r["expires_at"].year) for r in leases] == [
            (1, "w1", 2030)
        ]
        dead = conn.execute("SELECT step_id, node_id FROM flowsync.dead_letters").fetchall()
        assert [(r["step_id"], r["node_id"]) for r in dead] == [(2, "dead")]
        running = conn.execute("SELECT step_id FROM flowsync.running_steps").fetchall()
        assert [r["step_id"] for r in running] == [1]
