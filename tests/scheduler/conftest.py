"""Scheduler fixtures: real `flowsync scheduler` subprocesses and a view of who leads."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
from psycopg.rows import dict_row

from tests.processes import FlowSyncProcess, log_tails, wait_for
from tests.sql.conftest import Db

# How long a follower may take to replace a dead leader ("within a few seconds").
TAKEOVER_SECONDS = 5.0


class SchedulerProcess(FlowSyncProcess):
    """`python -m flowsync scheduler ...`."""

    def __init__(self, dsn: str, log_dir: Path, *args: str, name: str) -> None:
        self.name = name
        super().__init__("scheduler", dsn, log_dir / f"{name}.log", *args)


class Cluster(Db):
    """The test database plus any number of scheduler processes pointed at it."""

    def __init__(self, conn: psycopg.Connection[dict[str, Any]], dsn: str, log_dir: Path) -> None:
        super().__init__(conn)
        self.dsn = dsn
        self.log_dir = log_dir
        self.processes: list[SchedulerProcess] = []

    def spawn(self, count: int = 1, *args: str) -> list[SchedulerProcess]:
        first = len(self.processes)
        started = [
            SchedulerProcess(self.dsn, self.log_dir, *args, name=f"scheduler-{first + i}")
            for i in range(count)
        ]
        self.processes.extend(started)
        return started

    def status(self, execution_id: UUID) -> str:
        return str(self.execution(execution_id)["status"])

    def rows(self) -> list[dict[str, Any]]:
        return self.conn.execute("SELECT * FROM flowsync.scheduler_status").fetchall()

    def lock_holder(self) -> int | None:
        """Server pid of the session holding the scheduler lock, straight from pg_locks."""
        row = self.conn.execute("SELECT flowsync.scheduler_lock_holder() AS pid").fetchone()
        assert row is not None
        pid: int | None = row["pid"]
        return pid

    def leader(self) -> SchedulerProcess | None:
        """The process whose session holds the lock, if any (one at most, by construction)."""
        leading = [r for r in self.rows() if r["state"] == "leading"]
        assert len(leading) <= 1, leading
        if not leading:
            return None
        found = [p for p in self.processes if p.pid == leading[0]["pid"]]
        return found[0] if found else None

    def wait_leader(
        self, timeout: float = 20.0, other_than: SchedulerProcess | None = None
    ) -> SchedulerProcess:
        def new_leader() -> SchedulerProcess | None:
            leader = self.leader()
            return leader if leader is not None and leader is not other_than else None

        found: SchedulerProcess = wait_for(new_leader, timeout, "a scheduler to lead")
        return found

    def wait_followers(self, count: int, timeout: float = 20.0) -> None:
        wait_for(
            lambda: sum(r["state"] == "following" for r in self.rows()) >= count,
            timeout,
            f"{count} schedulers to follow",
        )

    def logs(self) -> str:
        return log_tails(self.processes, 3000)


@pytest.fixture
def cluster(database_dsn: str, tmp_path: Path) -> Iterator[Cluster]:
    with psycopg.connect(database_dsn, autocommit=True, row_factory=dict_row) as conn:
        c = Cluster(conn, database_dsn, tmp_path)
        try:
            yield c
        finally:
            for p in c.processes:
                if p.alive():
                    p.kill()
