"""The engine end to end, through real worker processes: shapes, branches, retries, timers."""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.e2e.conftest import Engine
from tests.processes import wait_for

ACTIONS = "tests.e2e.actions_for_tests"


class FlakyServer(ThreadingHTTPServer):
    """Answers 503 to the first `failures` requests of each Idempotency-Key, then 200."""

    def __init__(self, failures: int) -> None:
        super().__init__(("127.0.0.1", 0), _FlakyHandler)
        self.failures = failures
        self.seen: dict[str, int] = {}
        self.attempt_headers: list[str] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _FlakyHandler(BaseHTTPRequestHandler):
    server: FlakyServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        key = self.headers.get("Idempotency-Key", "")
        with self.server.lock:
            self.server.seen[key] = self.server.seen.get(key, 0) + 1
            count = self.server.seen[key]
            self.server.attempt_headers.append(self.headers.get("X-FlowSync-Attempt", ""))
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if count <= self.server.failures:
            self.send_response(503)
            self.send_header("Retry-After", "0")
            body = b'{"error": "try later"}'
        else:
            self.send_response(200)
            body = b'{"charged": true}'
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def flaky() -> Iterator[FlakyServer]:
    server = FlakyServer(failures=2)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def fast_retry(max_attempts: int = 5) -> dict[str, Any]:
    return {"max_attempts": max_attempts, "initial": "100ms", "max": "200ms", "jitter": False}


def test_fan_out_of_50_and_join(engine: Engine) -> None:
    engine.save(
        {
            "name": "fan",
            "nodes": [
                {"id": "root", "type": "echo", "config": {"value": "{{ input.n }}"}},
                *[
                    {
                        "id": f"p{i}",
                        "type": "echo",
                        "depends_on": ["root"],
                        "config": {"value": f"{{{{ steps.root.output * {i} }}}}"},
                    }
                    for i in range(50)
                ],
                {
                    "id": "join",
                    "type": "transform",
                    "depends_on": [f"p{i}" for i in range(50)],
                    "config": {
                        "value": {
                            "sum": "{{ "
                            + " + ".join(f"steps.p{i}.output" for i in range(50))
                            + " }}"
                        }
                    },
                },
            ],
        }
    )
    engine.worker("--concurrency", "20")
    execution_id = engine.start_now("fan", {"n": 2})
    execution = engine.wait_finished(execution_id)
    assert execution["status"] == "succeeded", engine.worker_logs()
    assert execution["output"] == {"join": {"sum": 2 * sum(range(50))}}
    running_together = engine.conn.execute(
        "SELECT count(DISTINCT started_at) AS n FROM flowsync.steps WHERE execution_id = %s "
        "AND node_id LIKE 'p%%'",
        (execution_id,),
    ).fetchone()
    assert running_together is not None and running_together["n"] < 50, "claimed in batches"


@pytest.mark.parametrize("pipeline", ["1", "3"])
def test_a_worker_runs_at_most_its_concurrency(engine: Engine, pipeline: str) -> None:
    """Round trips in flight (--pipeline) share the free slots: never more steps at once."""
    engine.save(
        {
            "name": "busy",
            "nodes": [{"id": "s", "type": "tests.count_running", "config": {"seconds": 0.15}}],
        }
    )
    ids = [engine.start_now("busy") for _ in range(24)]
    engine.worker("--concurrency", "4", "--pipeline", pipeline, "--actions", ACTIONS)
    engine.wait_all_finished(ids)
    rows = engine.conn.execute(
        "SELECT max((output->>'most_running')::int) AS most FROM flowsync.steps "
        "WHERE status = 'succeeded' AND node_id = 's'"
    ).fetchone()
    assert rows is not None and rows["most"] == 4, engine.worker_logs()


def test_a_result_the_database_cannot_store_fails_only_its_step(engine: Engine) -> None:
    """A NUL character in an output: that step fails for good, its batch-mates succeed, and
    the worker keeps working."""
    engine.save(
        {
            "name": "mixed",
            "nodes": [
                {"id": "bad", "type": "tests.nul_output"},
                *({"id": f"ok{i}", "type": "noop"} for i in range(5)),
            ],
        }
    )
    worker = engine.worker("--concurrency", "10", "--actions", ACTIONS)
    execution = engine.wait_finished(engine.start_now("mixed"))
    assert execution["status"] == "failed", engine.worker_logs()
    steps = engine.steps(execution["id"])
    assert steps["bad"]["status"] == "failed"
    assert "NUL character" in steps["bad"]["error"]["message"]
    assert all(steps[f"ok{i}"]["status"] == "succeeded" for i in range(5))
    assert worker.alive(), engine.worker_logs()
    # ... and still runs work.
    engine.save({"name": "after", "nodes": [{"id": "a", "type": "noop"}]})
    assert engine.wait_finished(engine.start_now("after"))["status"] == "succeeded"


@pytest.mark.parametrize("big", [True, False])
def test_if_else_with_skip_propagation(engine: Engine, big: bool) -> None:
    engine.save(
        {
            "name": "branch",
            "nodes": [
                {"id": "check", "type": "condition", "config": {"expr": "input.total > 1000"}},
                {"id": "review", "type": "noop", "depends_on": [{"node": "check", "when": True}]},
                {"id": "review2", "type": "noop", "depends_on": ["review"]},
                {"id": "auto", "type": "noop", "depends_on": [{"node": "check", "when": False}]},
                {"id": "auto2", "type": "noop", "depends_on": ["auto"]},
                {
                    "id": "ship",
                    "type": "echo",
                    "depends_on": ["review2", "auto2"],
                    "join": "one_success",
                    "config": {"value": "shipped"},
                },
            ],
        }
    )
    engine.worker()
    execution_id = engine.start_now("branch", {"total": 5000 if big else 10})
    assert engine.wait_finished(execution_id)["status"] == "succeeded"
    statuses = engine.statuses(execution_id)
    taken, skipped = ("review", "auto") if big else ("auto", "review")
    assert statuses[taken] == statuses[f"{taken}2"] == "succeeded"
    assert statuses[skipped] == statuses[f"{skipped}2"] == "skipped"
    assert statuses["ship"] == "succeeded"


@pytest.mark.parametrize(
    ("rule", "expected_join", "expected_execution"),
    [
        ("all_success", "skipped", "failed"),
        ("one_success", "succeeded", "failed"),
        ("all_done", "succeeded", "failed"),
        ("none_failed", "skipped", "failed"),
    ],
)
def test_join_rules_with_a_failed_branch(
    engine: Engine, rule: str, expected_join: str, expected_execution: str
) -> None:
    engine.save(
        {
            "name": "j",
            "nodes": [
                {"id": "good", "type": "noop"},
                {"id": "bad", "type": "tests.fail_unless"},
                {"id": "join", "type": "noop", "depends_on": ["good", "bad"], "join": rule},
            ],
        }
    )
    engine.worker("--actions", ACTIONS)
    execution_id = engine.start_now("j", {"ok": False})
    assert engine.wait_finished(execution_id)["status"] == expected_execution
    statuses = engine.statuses(execution_id)
    assert statuses == {"good": "succeeded", "bad": "failed", "join": expected_join}


def test_http_retries_then_succeeds(engine: Engine, flaky: FlakyServer) -> None:
    engine.save(
        {
            "name": "charge",
            "nodes": [
                {
                    "id": "charge",
                    "type": "http",
                    "retry": fast_retry(),
                    "config": {
                        "method": "POST",
                        "url": f"{flaky.url}/charge",
                        "json": {"amount": 5},
                    },
                },
            ],
        }
    )
    engine.worker()
    execution_id = engine.start_now("charge")
    execution = engine.wait_finished(execution_id)
    assert execution["status"] == "succeeded", engine.worker_logs()
    step = engine.steps(execution_id)["charge"]
    assert step["attempt"] == 3
    assert step["output"]["status"] == 200 and step["output"]["body"] == {"charged": True}
    assert flaky.seen == {f"{execution_id}:charge": 3}, "one stable idempotency key"
    assert flaky.attempt_headers == ["1", "2", "3"]
    outcomes = engine.conn.execute(
        "SELECT outcome FROM flowsync.step_attempts WHERE execution_id = %s ORDER BY id",
        (execution_id,),
    ).fetchall()
    assert [o["outcome"] for o in outcomes] == ["retry", "retry"]


def test_a_busy_worker_keeps_a_sooner_retry_it_was_told_of(
    engine: Engine, flaky: FlakyServer
) -> None:
    """A worker busy with a long step hears that a retry falls due in 3 s; another step of
    its own finishes before then (a report that finds no work). The retry still runs when
    it falls due, not at the next poll (an hour away): no scheduler wakes the worker here,
    and the wake-up the worker was told of survives the report."""
    flaky.failures = 1
    engine.save(
        {
            "name": "busy-retry",
            "nodes": [
                {"id": "hold", "type": "tests.sleep", "config": {"seconds": 600}},
                {
                    "id": "charge",
                    "type": "http",
                    "retry": {"max_attempts": 2, "backoff": "fixed", "initial": "3s"},
                    "config": {"method": "POST", "url": f"{flaky.url}/charge"},
                },
                {"id": "tick", "type": "tests.sleep", "config": {"seconds": 1.5}},
            ],
        }
    )
    engine.worker("--poll", "3600", "--concurrency", "4", "--actions", ACTIONS)
    execution_id = engine.start_now("busy-retry")

    wait_for(
        lambda: engine.steps(execution_id)["charge"]["status"] == "succeeded",
        30,
        f"the retry to run when it falls due\n{engine.worker_logs()}",
    )
    steps = engine.steps(execution_id)
    assert steps["hold"]["status"] == "running", "the worker stayed busy throughout"
    first_attempt = engine.conn.execute(
        "SELECT ended_at FROM flowsync.step_attempts WHERE step_id = %s AND outcome = 'retry'",
        (steps["charge"]["id"],),
    ).fetchone()
    assert first_attempt is not None and steps["charge"]["attempt"] == 2
    # The case at hand: tick's report came between the failure and the retry.
    assert first_attempt["ended_at"] < steps["tick"]["finished_at"] < steps["charge"]["started_at"]


def test_a_worker_running_a_chain_takes_new_work_as_it_arrives(engine: Engine) -> None:
    """A chain's reports do not look at the job table while the worker knows nothing is due
    there. A job started meanwhile still runs at once, not after the chain or at the next
    poll (an hour away): its wake-up makes the next report (or a claim) look."""
    length = 30
    engine.save(
        {
            "name": "long-chain",
            "nodes": [
                {"id": f"s{i}", "type": "tests.sleep", "config": {"seconds": 0.1}}
                | ({"depends_on": [f"s{i - 1}"]} if i else {})
                for i in range(length)
            ],
        }
    )
    engine.save({"name": "single", "nodes": [{"id": "only", "type": "noop"}]})
    engine.worker("--poll", "3600", "--concurrency", "4", "--actions", ACTIONS)
    chain_id = engine.start_now("long-chain")
    wait_for(
        lambda: engine.steps(chain_id)["s2"]["status"] != "pending",
        30,
        f"the chain to get going\n{engine.worker_logs()}",
    )
    single = engine.wait_finished(engine.start_now("single"))
    assert single["status"] == "succeeded"
    last = engine.steps(chain_id)[f"s{length - 1}"]
    assert last["started_at"] is None or single["finished_at"] < last["started_at"]
    assert engine.wait_finished(chain_id)["status"] == "succeeded"


def peer_counts(log: str) -> list[dict[str, Any]]:
    """What a worker's log says of its peers, in order."""
    events = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    return [
        {"peers": e["peers"], "pipeline": e["pipeline"]}
        for e in events
        if e.get("event") == "worker.peers"
    ]


def test_a_worker_keeps_one_round_trip_in_flight_while_others_share_its_queues(
    engine: Engine,
) -> None:
    """Two round trips in flight let a lone worker's database work while it runs steps;
    with peers, theirs keep the database busy, so each keeps one (and full batches). A
    worker learns of peers joining and leaving as it happens."""
    first = engine.worker("--concurrency", "4")
    wait_for(lambda: "worker.started" in first.log(), 30, "the first worker to start")
    second = engine.worker("--concurrency", "4", "--queues", "default,other")
    wait_for(
        lambda: {"peers": 1, "pipeline": 1} in peer_counts(first.log()),
        30,
        f"the first worker to count the second\n{engine.worker_logs()}",
    )
    second.signal(signal.SIGTERM)  # a clean stop says goodbye (one killed counts a lease on)
    wait_for(
        lambda: {"peers": 0, "pipeline": 2} in peer_counts(first.log()),
        30,
        f"the first worker to see the second leave\n{engine.worker_logs()}",
    )
    # Work still flows with the pipeline changing under it.
    engine.save({"name": "single", "nodes": [{"id": "only", "type": "noop"}]})
    assert engine.wait_finished(engine.start_now("single"))["status"] == "succeeded"


def test_exhausted_retries_go_dead_then_replay_succeeds(engine: Engine, flaky: FlakyServer) -> None:
    flaky.failures = 3
    engine.save(
        {
            "name": "charge",
            "nodes": [
                {
                    "id": "charge",
                    "type": "http",
                    "retry": fast_retry(max_attempts=2),
                    "config": {"method": "POST", "url": f"{flaky.url}/charge"},
                },
                {"id": "after", "type": "noop", "depends_on": ["charge"]},
            ],
        }
    )
    engine.worker()
    execution_id = engine.start_now("charge")
    assert engine.wait_finished(execution_id)["status"] == "failed"
    steps = engine.steps(execution_id)
    assert steps["charge"]["status"] == "dead" and steps["after"]["status"] == "skipped"
    assert steps["charge"]["error"]["details"]["status"] == 503
    replayed = engine.conn.execute(
        "SELECT flowsync.resume_execution(%s, %s) AS r", (execution_id, [steps["charge"]["id"]])
    ).fetchone()
    assert replayed == {"r": "resumed"}
    assert engine.wait_finished(execution_id)["status"] == "succeeded"
    assert engine.statuses(execution_id) == {"charge": "succeeded", "after": "succeeded"}


def test_delay_is_a_durable_timer(engine: Engine) -> None:
    engine.save(
        {
            "name": "wait",
            "nodes": [
                {"id": "wait", "type": "delay", "config": {"duration": "1s"}},
                {"id": "after", "type": "noop", "depends_on": ["wait"]},
            ],
        }
    )
    engine.worker("--concurrency", "1")
    execution_id = engine.start_now("wait")
    wait_for(lambda: engine.steps(execution_id)["wait"]["state"] is not None, 10, "the timer")
    snoozed = engine.steps(execution_id)["wait"]
    assert snoozed["status"] == "queued", "no worker holds a step while it waits"
    assert snoozed["attempt"] == 0
    execution = engine.wait_finished(execution_id, timeout=15)
    assert execution["status"] == "succeeded"
    steps = engine.steps(execution_id)
    waited = steps["wait"]["finished_at"] - engine.execution(execution_id)["created_at"]
    assert waited.total_seconds() >= 1.0


def test_cancel_mid_run(engine: Engine) -> None:
    engine.save(
        {
            "name": "slow",
            "nodes": [
                {"id": "slow", "type": "tests.sleep", "config": {"seconds": 30}},
                {"id": "after", "type": "noop", "depends_on": ["slow"]},
            ],
        }
    )
    worker = engine.worker("--actions", ACTIONS, "--lease", "3")
    execution_id = engine.start_now("slow")
    wait_for(lambda: engine.statuses(execution_id)["slow"] == "running", 10, "the slow step")
    cancelled = engine.conn.execute(
        "SELECT flowsync.cancel_execution(%s, 'no longer needed') AS r", (execution_id,)
    ).fetchone()
    assert cancelled == {"r": "cancelled"}
    assert engine.statuses(execution_id) == {"slow": "cancelled", "after": "cancelled"}
    # The worker learns it lost the lease on its next heartbeat and abandons the step.
    wait_for(lambda: "step.lease_lost" in worker.log(), 10, "the worker to drop the step")
    assert engine.status(execution_id) == "cancelled"


def test_resume_after_failure(engine: Engine) -> None:
    engine.save(
        {
            "name": "r",
            "nodes": [
                {"id": "first", "type": "tests.context"},
                {"id": "gate", "type": "tests.fail_unless", "depends_on": ["first"]},
                {"id": "last", "type": "noop", "depends_on": ["gate"]},
            ],
        }
    )
    engine.worker("--actions", ACTIONS)
    execution_id = engine.start_now("r", {"ok": False})
    assert engine.wait_finished(execution_id)["status"] == "failed"
    first_output = engine.steps(execution_id)["first"]["output"]
    # Fix the cause (here: the input), then resume: only the failed part runs again.
    engine.conn.execute(
        "UPDATE flowsync.executions SET input = %s WHERE id = %s",
        (Jsonb({"ok": True}), execution_id),
    )
    engine.conn.execute("SELECT flowsync.resume_execution(%s)", (execution_id,))
    assert engine.wait_finished(execution_id)["status"] == "succeeded"
    steps = engine.steps(execution_id)
    assert steps["first"]["output"] == first_output and steps["first"]["attempt"] == 1
    assert steps["gate"]["attempt"] == 1 and steps["last"]["status"] == "succeeded"


def test_context_idempotency_key_and_logs(engine: Engine) -> None:
    engine.save(
        {
            "name": "ctx",
            "nodes": [
                {"id": "a", "type": "echo", "config": {"value": {"x": "{{ input.x }}"}}},
                {"id": "b", "type": "tests.context", "depends_on": ["a"]},
            ],
        }
    )
    engine.worker("--actions", ACTIONS)
    execution_id = engine.start_now("ctx", {"x": 41})
    assert engine.wait_finished(execution_id)["status"] == "succeeded"
    output = engine.steps(execution_id)["b"]["output"]
    assert output == {
        "idempotency_key": f"{execution_id}:b",
        "attempt": 1,
        "input": {"x": 41},
        "steps": {"a": {"output": {"x": 41}}},
    }
    logs = engine.conn.execute(
        "SELECT message, fields FROM flowsync.step_logs WHERE execution_id = %s", (execution_id,)
    ).fetchall()
    assert {"message": "context seen", "fields": {"node": "b"}} in logs


def test_idempotent_start_and_rolled_back_start(engine: Engine) -> None:
    engine.save({"name": "once", "nodes": [{"id": "a", "type": "noop"}]})
    first = engine.start_now("once", {"n": 1}, key="order-1")
    again = engine.start_now("once", {"n": 1}, key="order-1")
    assert first == again
    with pytest.raises(RuntimeError), engine.conn.transaction():
        engine.start_now("once", {"n": 2}, key="order-2")
        raise RuntimeError("the application rolls back")
    engine.worker()
    engine.wait_finished(first)
    rows = engine.conn.execute("SELECT idempotency_key FROM flowsync.executions").fetchall()
    assert rows == [{"idempotency_key": "order-1"}]
    with pytest.raises(psycopg.Error):
        engine.start_now("once", {"n": 999}, key="order-1")


def test_output_mapping(engine: Engine) -> None:
    engine.save(
        {
            "name": "out",
            "output": {"doubled": "steps.a.output * 2", "in": "input.v"},
            "nodes": [{"id": "a", "type": "echo", "config": {"value": "{{ input.v }}"}}],
        }
    )
    engine.worker()
    execution_id = engine.start_now("out", {"v": 21})
    execution = engine.wait_finished(execution_id)
    assert execution["status"] == "succeeded"
    assert execution["output"] == {"doubled": 42, "in": 21}
