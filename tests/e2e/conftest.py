"""End-to-end fixtures: real `flowsync worker` subprocesses against the test database."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from tests.processes import FlowSyncProcess, log_tails, wait_for
from tests.sql.conftest import Db

TERMINAL = ("succeeded", "failed", "cancelled")


class WorkerProcess(FlowSyncProcess):
    """`python -m flowsync worker ...`."""

    def __init__(self, dsn: str, log_dir: Path, *args: str, name: str = "worker") -> None:
        super().__init__("worker", dsn, log_dir / f"{name}-{time.monotonic_ns()}.log", *args)


class Engine(Db):
    """The test database, driven like an application would: save, start, wait, inspect."""

    def __init__(self, conn: psycopg.Connection[dict[str, Any]], dsn: str, log_dir: Path) -> None:
        super().__init__(conn)
        self.dsn = dsn
        self.log_dir = log_dir
        self.workers: list[WorkerProcess] = []

    def worker(self, *args: str, name: str = "worker") -> WorkerProcess:
        process = WorkerProcess(self.dsn, self.log_dir, *args, name=name)
        self.workers.append(process)
        return process

    def start_now(self, name: str, input: Any = None, key: str | None = None) -> UUID:
        row = self.conn.execute(
            "SELECT flowsync.start_execution(%s, %s, idempotency_key => %s) AS id",
            (name, Jsonb(input if input is not None else {}), key),
        ).fetchone()
        assert row is not None
        return UUID(str(row["id"]))

    def status(self, execution_id: UUID) -> str:
        return str(self.execution(execution_id)["status"])

    def wait_finished(self, execution_id: UUID, timeout: float = 30) -> dict[str, Any]:
        wait_for(
            lambda: self.status(execution_id) in TERMINAL,
            timeout,
            f"execution {execution_id} to finish",
        )
        return self.execution(execution_id)

    def wait_all_finished(self, ids: list[UUID], timeout: float = 60) -> None:
        def done() -> bool:
            row = self.conn.execute(
                "SELECT count(*) AS n FROM flowsync.executions WHERE id = ANY(%s) "
                "AND status NOT IN ('succeeded', 'failed', 'cancelled')",
                (ids,),
            ).fetchone()
            return row is not None and row["n"] == 0

        wait_for(done, timeout, f"{len(ids)} executions to finish")

    def worker_logs(self) -> str:
        return log_tails(self.workers)


@contextmanager
def running_engine(dsn: str, log_dir: Path) -> Iterator[Engine]:
    """An Engine on `dsn`; its workers are stopped when the block ends."""
    with psycopg.connect(dsn, autocommit=True, row_factory=dict_row) as conn:
        eng = Engine(conn, dsn, log_dir)
        try:
            yield eng
        finally:
            for w in eng.workers:
                w.stop()


@pytest.fixture
def engine(database_dsn: str, tmp_path: Path) -> Iterator[Engine]:
    with running_engine(database_dsn, tmp_path) as eng:
        yield eng
