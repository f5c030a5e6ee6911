"""Helpers for testing the stored procedures directly: the Db wrapper and small factories."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec
import psycopg
from psycopg.types.json import Jsonb

from flowsync.definition import canonical_json, definition_checksum, parse_definition
from flowsync.definition.plan import build_plan

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    """A fixed clock: T0 plus `seconds`."""
    return T0 + timedelta(seconds=seconds)


class Db:
    """A thin, explicit wrapper: each method is one call of one stored procedure."""

    def __init__(self, conn: psycopg.Connection[dict[str, Any]]) -> None:
        self.conn = conn

    def save(self, definition: dict[str, Any]) -> int:
        parsed = parse_definition(definition)
        row = self.conn.execute(
            "SELECT * FROM flowsync.save_workflow_version(%s, %s, %s, %s)",
            (
                parsed.name,
                Jsonb(msgspec.json.decode(canonical_json(parsed))),
                definition_checksum(parsed),
                Jsonb(msgspec.to_builtins(build_plan(parsed))),
            ),
        ).fetchone()
        assert row is not None
        return int(row["version"])

    def start(
        self, name: str, input: Any = None, key: str | None = None, now: datetime = T0
    ) -> UUID:
        row = self.conn.execute(
            "SELECT execution_id FROM flowsync.start_execution_ex(%s, %s, %s, NULL, %s)",
            (name, Jsonb(input if input is not None else {}), key, now),
        ).fetchone()
        assert row is not None
        return UUID(str(row["execution_id"]))

    def claim(
        self,
        worker: str = "w1",
        queues: tuple[str, ...] = ("default",),
        limit: int = 100,
        lease_ms: int = 30_000,
        now: datetime = T0,
    ) -> list[dict[str, Any]]:
        return self.conn.execute(
            "SELECT * FROM flowsync.claim_steps(%s, %s, %s, %s, %s)",
            (worker, list(queues), limit, lease_ms, now),
        ).fetchall()

    def report(
        self,
        reports: list[dict[str, Any]],
        worker: str = "w1",
        queues: tuple[str, ...] = ("default",),
        limit: int = 0,
        now: datetime = T0,
        top_up: bool = True,
    ) -> list[dict[str, Any]]:
        for r in reports:
            r["token"] = str(r["token"])
        return self.conn.execute(
            "SELECT * FROM flowsync.report_steps(%s, %s, %s, %s, %s, %s, %s)",
            (worker, Jsonb(reports), list(queues), limit, 30_000, now, top_up),
        ).fetchall()

    def succeed(self, claim: dict[str, Any], output: Any = None, **kw: Any) -> str:
        rows = self.report(
            [
                {
                    "step_id": claim["step_id"],
                    "token": claim["lease_token"],
                    "kind": "succeeded",
                    "output": output,
                    **kw,
                }
            ]
        )
        return str(rows[0]["result"])

    def fail(self, claim: dict[str, Any], retryable: bool = True, now: datetime = T0) -> str:
        rows = self.report(
            [
                {
                    "step_id": claim["step_id"],
                    "token": claim["lease_token"],
                    "kind": "failed",
                    "error": {"message": "boom"},
                    "retryable": retryable,
                }
            ],
            now=now,
        )
        return str(rows[0]["result"])

    def steps(self, execution_id: UUID) -> dict[str, dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT * FROM flowsync.steps WHERE execution_id = %s ORDER BY node_idx",
            (execution_id,),
        ).fetchall()
        return {row["node_id"]: row for row in rows}

    def statuses(self, execution_id: UUID) -> dict[str, str]:
        return {k: v["status"] for k, v in self.steps(execution_id).items()}

    def execution(self, execution_id: UUID) -> dict[str, Any]:
        row = self.conn.execute(
            "SELECT * FROM flowsync.executions WHERE id = %s", (execution_id,)
        ).fetchone()
        assert row is not None
        return row

    def jobs(self) -> list[dict[str, Any]]:
        return self.conn.execute("SELECT * FROM flowsync.jobs ORDER BY step_id").fetchall()

    def lock_waiters(self, application: str | None = None) -> int:
        """How many sessions of this database (of `application`, if given) wait for a lock."""
        row = self.conn.execute(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND (%s::text IS NULL OR application_name = %s)",
            (application, application),
        ).fetchone()
        assert row is not None
        return int(row["n"])

    def leases(self) -> dict[int, dict[str, Any]]:
        rows = self.conn.execute("SELECT * FROM flowsync.leases ORDER BY step_id").fetchall()
        return {row["step_id"]: row for row in rows}

    def run_all(self, outputs: dict[str, Any] | None = None, now: datetime = T0) -> None:
        """Claim and succeed everything ready until nothing is (noop-style)."""
        outputs = outputs or {}
        while claims := self.claim(now=now):
            for claim in claims:
                node = claim["node_id"]
                self.succeed(claim, outputs.get(node), outcome=outputs.get(f"{node}:outcome"))


def chain(name: str, length: int, **node_extra: Any) -> dict[str, Any]:
    nodes = [{"id": f"s{i}", "type": "noop", **node_extra} for i in range(length)]
    for i in range(1, length):
        nodes[i]["depends_on"] = [f"s{i - 1}"]
    return {"name": name, "nodes": nodes}
