"""Fault-test fixtures: the e2e Engine plus a run-recording table, and a restartable server."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
from psycopg.rows import dict_row

from flowsync.embedded import EmbeddedPostgres, free_port
from flowsync.migrate import migrate
from tests.e2e.conftest import Engine, WorkerProcess
from tests.processes import wait_for

ACTIONS_FILE = Path(__file__).with_name("actions.py")
# Where the fault.* actions record their runs (the test process never imports actions.py:
# that would register its actions in this process too).
RUNS_TABLE_SQL = """
CREATE TABLE IF NOT EXISTS public.fault_test_runs (
    run_id       uuid        NOT NULL,
    phase        text        NOT NULL CHECK (phase IN ('start', 'done')),
    step_id      bigint      NOT NULL,
    execution_id uuid        NOT NULL,
    node_id      text        NOT NULL,
    attempt      integer     NOT NULL,
    pid          integer     NOT NULL,
    at           timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (run_id, phase)
);
CREATE INDEX IF NOT EXISTS fault_test_runs_step ON public.fault_test_runs (step_id);
"""


class FaultEngine(Engine):
    """An Engine whose workers load tests/fault/actions.py, with queries about real runs."""

    def fault_worker(self, *args: str, name: str = "worker") -> WorkerProcess:
        return self.worker("--actions", str(ACTIONS_FILE), *args, name=name)

    def reconnect(self) -> None:
        """A new test connection (after the server restarted under the old one)."""
        self.conn.close()
        self.conn = psycopg.connect(self.dsn, autocommit=True, row_factory=dict_row)

    def worker_id(self, worker: WorkerProcess, timeout: float = 15) -> str:
        """The id a worker process registered under (waits for the registration)."""

        def registered() -> str | None:
            row = self.conn.execute(
                "SELECT id FROM flowsync.workers WHERE pid = %s ORDER BY started_at DESC LIMIT 1",
                (worker.proc.pid,),
            ).fetchone()
            return None if row is None else str(row["id"])

        return str(wait_for(registered, timeout, f"worker pid {worker.proc.pid} to register"))

    def runs(self, step_id: int, phase: str | None = None) -> list[dict[str, Any]]:
        """The recorded runs of one step (fault.* actions), oldest first."""
        return self.conn.execute(
            "SELECT * FROM public.fault_test_runs WHERE step_id = %s "
            "AND (%s::text IS NULL OR phase = %s) ORDER BY at, phase DESC",
            (step_id, phase, phase),
        ).fetchall()

    def attempts(self, step_id: int) -> list[dict[str, Any]]:
        return self.conn.execute(
            "SELECT * FROM flowsync.step_attempts WHERE step_id = %s ORDER BY id", (step_id,)
        ).fetchall()

    def rescue(self) -> int:
        row = self.conn.execute("SELECT flowsync.rescue_expired_leases() AS n").fetchone()
        assert row is not None
        return int(row["n"])

    def wait_finished_unless_workers_died(
        self, ids: list[UUID], workers: list[WorkerProcess], timeout: float = 40
    ) -> None:
        """Wait for the executions to end; stop waiting early if every worker is gone (the
        caller reports dead workers as problems)."""

        def done() -> bool:
            if all(w.proc.poll() is not None for w in workers):
                return True
            self.rescue()  # the workers do this every 5 s; calling it just saves time
            return (
                self.count(
                    "SELECT count(*) FROM flowsync.executions WHERE id = ANY (%s) "
                    "AND status NOT IN ('succeeded', 'failed', 'cancelled')",
                    ids,
                )
                == 0
            )

        wait_for(done, timeout, f"{len(ids)} executions to finish", interval=0.2)

    def count(self, sql: str, *params: Any) -> int:
        row = self.conn.execute(sql, params).fetchone()
        assert row is not None
        return int(next(iter(row.values())))

    def step_report(self, ids: list[UUID]) -> list[dict[str, Any]]:
        """One row per step of these executions: its state, counters and recorded runs."""
        return self.conn.execute(
            """
            SELECT s.id, s.execution_id, s.node_id, s.status::text AS status, s.attempt,
                   s.worker_id, s.finished_at,
                   (SELECT count(*) FROM flowsync.step_attempts a
                    WHERE a.step_id = s.id AND a.outcome = 'lease_expired') AS lost,
                   (SELECT count(*) FROM flowsync.step_attempts a
                    WHERE a.step_id = s.id AND a.outcome = 'retry') AS retried,
                   (SELECT count(*) FROM flowsync.step_attempts a
                    WHERE a.step_id = s.id AND a.outcome = 'handed_back') AS handed_back,
                   (SELECT count(*) FROM flowsync.step_attempts a
                    WHERE a.step_id = s.id AND a.outcome = 'lease_expired'
                      AND NOT EXISTS (
                          SELECT 1 FROM public.fault_test_runs r
                          WHERE r.step_id = s.id AND r.phase = 'start'
                            AND r.attempt = a.attempt)) AS lost_unstarted,
                   (SELECT count(*) FROM public.fault_test_runs r
                    WHERE r.step_id = s.id AND r.phase = 'start') AS starts,
                   (SELECT count(*) FROM public.fault_test_runs r
                    WHERE r.step_id = s.id AND r.phase = 'done') AS dones,
                   (SELECT count(*) FROM public.fault_test_runs r
                    WHERE r.step_id = s.id AND r.phase = 'start'
                      AND r.at > s.finished_at) AS starts_after_finish
            FROM flowsync.steps s
            WHERE s.execution_id = ANY (%s)
            ORDER BY s.id
            """,
            (ids,),
        ).fetchall()


def effectively_once_problems(
    engine: FaultEngine, ids: list[UUID], steps_per_execution: int
) -> tuple[list[str], str]:
    """What breaks the no-loss/no-double invariants in these executions of fault.work steps,
    and a one-line summary of what happened. Only for runs where no worker died.

    Every execution succeeded; every step succeeded; its attempt counter is 1 plus the
    attempts lost to lease expiry (nothing else consumed one); each lost attempt had really
    started on its (live) worker, otherwise the worker lost track of a step leased to it;
    the step ran to completion at least once and at most once per attempt; nothing started
    running it after it had succeeded."""
    problems: list[str] = []
    rows = engine.conn.execute(
        "SELECT status::text AS status, count(*) AS n FROM flowsync.executions "
        "WHERE id = ANY (%s) GROUP BY 1",
        (ids,),
    ).fetchall()
    by_status = {r["status"]: r["n"] for r in rows}
    if by_status != {"succeeded": len(ids)}:
        problems.append(f"executions by status: {by_status} (expected {len(ids)} succeeded)")

    steps = engine.step_report(ids)
    if len(steps) != len(ids) * steps_per_execution:
        problems.append(f"{len(steps)} steps for {len(ids)} executions")
    doubled = lost_claims = 0
    for s in steps:
        where = f"step {s['id']} ({s['execution_id']}:{s['node_id']})"
        if s["status"] != "succeeded":
            problems.append(f"{where}: status {s['status']}")
        if s["retried"]:
            problems.append(f"{where}: {s['retried']} failed attempt(s) (retry rows)")
        if s["attempt"] != 1 + s["lost"]:
            problems.append(
                f"{where}: attempt {s['attempt']} but {s['lost']} lease_expired attempt(s)"
            )
        if s["lost_unstarted"]:
            lost_claims += 1
            problems.append(
                f"{where}: {s['lost_unstarted']} attempt(s) lost to lease expiry that never "
                "started on the live worker holding the lease (a claim it never learned of)"
            )
        if not 1 <= s["dones"] <= s["attempt"]:
            doubled += s["dones"] > s["attempt"]
            problems.append(
                f"{where}: ran to completion {s['dones']} time(s) in {s['attempt']} attempt(s) "
                f"(runs started {s['starts']}, handed back {s['handed_back']} time(s))"
            )
        if s["starts_after_finish"]:
            problems.append(f"{where}: started {s['starts_after_finish']} time(s) after success")
    summary = (
        f"{len(ids)} executions, {len(steps)} steps, "
        f"{sum(s['lost'] for s in steps)} lease_expired, "
        f"{sum(s['handed_back'] for s in steps)} handed_back, "
        f"{sum(s['dones'] for s in steps)} completed runs, "
        f"{doubled} steps run more often than attempted, {lost_claims} with lost claims"
    )
    if problems:
        problems.insert(0, f"({len(problems)} problems; {summary})")
    return problems, summary


def dead_worker_problems(workers: list[WorkerProcess]) -> list[str]:
    """One entry per worker process that is no longer running, with the end of its log."""
    return [
        f"worker {w.log_path.name} exited with code {w.proc.returncode}; its log ends:\n"
        + "\n".join(w.log().splitlines()[-8:])
        for w in workers
        if w.proc.poll() is not None
    ]


def assert_no_problems(problems: list[str], limit: int = 40) -> None:
    shown = problems[:limit] + (
        [f"... and {len(problems) - limit} more"] if len(problems) > limit else []
    )
    assert not problems, "\n".join(shown)


def make_engine(dsn: str, log_dir: Path) -> FaultEngine:
    conn = psycopg.connect(dsn, autocommit=True, row_factory=dict_row)
    conn.execute(RUNS_TABLE_SQL)
    return FaultEngine(conn, dsn, log_dir)


@pytest.fixture
def engine(database_dsn: str, tmp_path: Path) -> Iterator[FaultEngine]:
    eng = make_engine(database_dsn, tmp_path)
    try:
        yield eng
    finally:
        for w in eng.workers:
            w.stop()
        eng.conn.close()


@dataclass
class RestartableServer:
    """An embedded Postgres of our own (never the session's), with one migrated database."""

    server: EmbeddedPostgres
    dsn: str

    def restart(self) -> None:
        """Fast shutdown (every connection dropped), then start again on the same port."""
        self.server.stop()
        self.server.start()


@pytest.fixture(scope="module")
def restartable_server() -> Iterator[RestartableServer]:
    data_dir = Path(tempfile.mkdtemp(prefix="flowsync-fault-"))
    # An explicit port: on restart, connections the server just closed may still hold the
    # port in TIME_WAIT, and the remembered port would then look taken.
    server = EmbeddedPostgres(data_dir, port=free_port(), durable=False)
    try:
        server.start()
        server.create_database("fault")
        dsn = server.dsn("fault")
        migrate(dsn)
        yield RestartableServer(server, dsn)
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
