"""The database stops answering: calls time out (FLOWSYNC_DB_COMMAND_TIMEOUT) instead of
hanging. A worker treats a timed-out call like a lost connection (its outcome is unknown),
a scheduler duty fails one pass, and the API answers 503."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
from litestar.testing import TestClient
from psycopg.rows import dict_row

from flowsync.actions import StepContext, default_registry
from flowsync.api.app import create_app
from flowsync.config import load_settings
from flowsync.scheduler import Scheduler, SchedulerConfig
from flowsync.worker import Worker, WorkerConfig
from tests.api.conftest import Keys, api_keys, auth
from tests.e2e.conftest import Engine
from tests.fault.conftest import RestartableServer
from tests.processes import wait_for

__all__ = ["api_keys"]  # (the fixture)

TIMEOUT = 0.5  # seconds: the command timeout of everything these tests start
CHAIN = 3
EXECUTIONS = 40

# Statements of one application waiting on something (a lock, a standby), one row per wait:
# a new query_start on the same backend is a new statement, i.e. the last one was given up.
WAITING = """
SELECT pid, query_start, query FROM pg_stat_activity
WHERE datname = current_database() AND application_name = %s AND wait_event = %s
"""


def chain_of_work(name: str) -> dict[str, object]:
    nodes: list[dict[str, object]] = [
        {"id": f"s{i}", "type": "timeouts.work"} for i in range(CHAIN)
    ]
    for i in range(1, CHAIN):
        nodes[i]["depends_on"] = [f"s{i - 1}"]
    return {"name": name, "nodes": nodes}


@contextmanager
def running_in_thread(main: Callable[[asyncio.Event], Coroutine[Any, Any, None]]) -> Iterator[None]:
    """Run `main(stop)` on an event loop of its own; set `stop` and wait for it on leaving.
    An error it ended with is raised here."""
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            loop.run_until_complete(main(stop))
        except BaseException as exc:  # handed to the test thread below
            failure.append(exc)
        finally:
            loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)
        assert not thread.is_alive(), "it did not stop within 30 s"
    if failure:
        raise failure[0]


class Waits:
    """Counts the distinct statements of an application seen waiting on `event`."""

    def __init__(self, conn: psycopg.Connection[dict[str, Any]], app: str, event: str) -> None:
        self.conn, self.app, self.event = conn, app, event
        self.seen: set[tuple[int, Any]] = set()

    def count(self, query_like: str = "") -> int:
        for row in self.conn.execute(WAITING, (self.app, self.event)).fetchall():
            if query_like in row["query"]:
                self.seen.add((row["pid"], row["query_start"]))
        return len(self.seen)


def test_worker_calls_that_hang_at_commit_time_out_and_are_reconciled(
    restartable_server: RestartableServer, tmp_path: Path
) -> None:
    """Every commit hangs for a while (a synchronous standby that never comes): the server
    commits locally and waits, so a claim or report that times out may well have leased
    steps. The worker's calls are given up after the command timeout and retried, like calls
    on a lost connection, and once commits work again it hands back the steps leased to it
    that it never heard of. Every execution succeeds, every step runs exactly once on its
    first attempt, and some steps were handed back (the unknown outcomes happened)."""
    runs: list[int] = []

    async def work(ctx: StepContext) -> dict[str, Any]:
        runs.append(ctx.step_id)
        await asyncio.sleep(0.05)
        return {"attempt": ctx.attempt}

    registry = default_registry()  # a copy: the action stays out of this process's defaults
    registry.register("timeouts.work", work)
    config = WorkerConfig(
        concurrency=4,
        lease_seconds=90,  # heartbeats every 30 s: none wait while commits hang
        poll_seconds=1,
        rescue_seconds=0,
        grace_seconds=5,
        db_command_timeout=TIMEOUT,
    )
    dsn = restartable_server.dsn
    with psycopg.connect(dsn, autocommit=True, row_factory=dict_row) as conn:
        database = conn.execute("SELECT current_database() AS db").fetchone()
        assert database is not None
        # The throwaway server does not wait for commits to be flushed; this database must.
        conn.execute(f'ALTER DATABASE "{database["db"]}" SET synchronous_commit = on')
        conn.execute("SET synchronous_commit = local")  # this session never waits
        engine = Engine(conn, dsn, tmp_path)
        engine.save(chain_of_work("hang"))
        ids = [engine.start_now("hang", {"n": n}) for n in range(EXECUTIONS)]
        worker = Worker(dsn, config, registry=registry)
        try:
            with running_in_thread(worker.run):
                wait_for(lambda: len(runs) >= 10, 30, "the worker to get going")
                with commits_hanging(conn):
                    hung = Waits(conn, "flowsync-worker", "SyncRep")
                    wait_for(
                        lambda: hung.count() >= 4,
                        15,
                        "hung calls of the worker to time out and be retried",
                    )
                engine.wait_all_finished(ids)
        finally:
            conn.execute(f'ALTER DATABASE "{database["db"]}" RESET synchronous_commit')

        assert_ran_once_each(engine, ids, runs)
        handed_back = engine.conn.execute(
            "SELECT count(*) AS n FROM flowsync.step_attempts WHERE outcome = 'handed_back'"
        ).fetchone()
        assert handed_back is not None and handed_back["n"] > 0, "no unknown outcome arose"


@contextmanager
def commits_hanging(conn: psycopg.Connection[dict[str, Any]]) -> Iterator[None]:
    """Commits (of sessions with synchronous_commit = on) wait for a standby that is not
    there, until the block ends; then they all complete."""
    conn.execute("ALTER SYSTEM SET synchronous_standby_names = 'flowsync_test_nobody'")
    conn.execute("SELECT pg_reload_conf()")
    try:
        yield
    finally:
        conn.execute("ALTER SYSTEM RESET synchronous_standby_names")
        conn.execute("SELECT pg_reload_conf()")


def assert_ran_once_each(engine: Engine, ids: list[UUID], runs: list[int]) -> None:
    statuses = engine.conn.execute(
        "SELECT status::text AS status, count(*) AS n FROM flowsync.executions "
        "WHERE id = ANY (%s) GROUP BY 1",
        (ids,),
    ).fetchall()
    assert {r["status"]: r["n"] for r in statuses} == {"succeeded": len(ids)}
    steps = engine.conn.execute(
        "SELECT id, status::text AS status, attempt FROM flowsync.steps "
        "WHERE execution_id = ANY (%s)",
        (ids,),
    ).fetchall()
    assert len(steps) == len(ids) * CHAIN
    assert {(s["status"], s["attempt"]) for s in steps} == {("succeeded", 1)}
    ran = Counter(runs)
    assert sorted(ran) == sorted(s["id"] for s in steps), "a step never ran"
    assert set(ran.values()) == {1}, f"steps run twice: {[k for k, v in ran.items() if v > 1]}"
    assert engine.jobs() == []


@contextmanager
def locked(dsn: str, statement: str, *params: Any) -> Iterator[None]:
    """Hold the locks `statement` takes, in a transaction of another session, until the block
    ends (or for 20 s at most: code without a timeout then gets through, and fails the test
    instead of hanging it)."""
    with psycopg.connect(dsn) as holder:
        holder.execute("SET idle_in_transaction_session_timeout = '20s'")
        holder.execute(statement, params)
        try:
            yield
        finally:
            # (psycopg.Error: the 20 s ran out and the server ended the session, lock and all)
            with contextlib.suppress(psycopg.Error):
                holder.rollback()


def test_a_scheduler_duty_blocked_on_a_lock_times_out_and_runs_again(database_dsn: str) -> None:
    """While another session locks the job table, the leader's wake duty cannot read it: each
    pass is cancelled after the command timeout and the next comes on time (a new statement),
    and the scheduler keeps leading."""

    async def main(stop: asyncio.Event) -> None:
        await scheduler.run(stop)

    scheduler = Scheduler(database_dsn, SchedulerConfig(retention=None, db_command_timeout=TIMEOUT))
    with (
        psycopg.connect(database_dsn, autocommit=True, row_factory=dict_row) as conn,
        running_in_thread(main),
    ):
        wait_for(lambda: scheduler.leading, 15, "the scheduler to lead")
        blocked = Waits(conn, "flowsync-scheduler", "relation")
        with locked(database_dsn, "LOCK TABLE flowsync.jobs IN ACCESS EXCLUSIVE MODE"):
            wait_for(
                lambda: blocked.count("notify_due_jobs") >= 3,
                15,
                "blocked passes of the wake duty to time out and start again",
            )
            assert scheduler.leading
        leader = conn.execute("SELECT id FROM flowsync.schedulers WHERE leader_since IS NOT NULL")
        assert [r["id"] for r in leader.fetchall()] == [scheduler.id]
        assert scheduler.leading


def test_the_api_answers_503_when_the_database_does_not_answer(
    database_dsn: str, tmp_path: Path, api_keys: Keys
) -> None:
    """A request whose statement waits on a lock another session holds gets a 503 problem
    naming the timeout, both in authentication (the key's row) and in a handler (the
    execution's row); once the lock is gone the same requests work."""
    settings = load_settings({}, db_command_timeout=TIMEOUT)
    with (
        psycopg.connect(database_dsn, autocommit=True, row_factory=dict_row) as conn,
        TestClient(app=create_app(settings, database_dsn)) as client,
    ):
        engine = Engine(conn, database_dsn, tmp_path)
        engine.save({"name": "api-timeout", "nodes": [{"id": "a", "type": "noop"}]})
        execution_id = engine.start_now("api-timeout")
        headers = auth(api_keys.admin)

        with locked(database_dsn, "SELECT * FROM flowsync.api_keys FOR UPDATE"):
            answer = client.get(f"/executions/{execution_id}", headers=headers)
        assert_timeout_problem(answer)
        assert client.get(f"/executions/{execution_id}", headers=headers).status_code == 200

        lock_execution = "SELECT * FROM flowsync.executions WHERE id = %s FOR UPDATE"
        with locked(database_dsn, lock_execution, execution_id):
            answer = client.post(f"/executions/{execution_id}/cancel", headers=headers)
        assert_timeout_problem(answer)
        answer = client.post(f"/executions/{execution_id}/cancel", headers=headers)
        assert answer.status_code == 200, answer.text


def assert_timeout_problem(answer: Any) -> None:
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.headers["retry-after"] == "1"
    problem = answer.json()
    assert problem["title"] == "Service Unavailable"
    assert problem["detail"].startswith(
        f"the database did not answer within {TIMEOUT:g} s (FLOWSYNC_DB_COMMAND_TIMEOUT)"
    ), problem
