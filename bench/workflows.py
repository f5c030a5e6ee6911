"""The workflows the scenarios run: every step is `noop`, so the engine itself is measured."""

from __future__ import annotations

from typing import Any

import msgspec
import psycopg
from psycopg.types.json import Jsonb

from flowsync.definition import (
    MAX_NODES,
    canonical_json,
    definition_checksum,
    parse_definition,
)
from flowsync.definition.plan import build_plan

NOOP = "bench-noop"
CHAIN = "bench-chain"
FANOUT = "bench-fanout"
CHAIN_LENGTH = 40
# The issue asks for 2,000 parallel steps and a join; a definition holds at most MAX_NODES
# nodes (1,000), so the fan-out is as wide as a definition may be: 999 parallel + the join.
FANOUT_WIDTH = min(2_000, MAX_NODES - 1)
FANOUT_STEPS = FANOUT_WIDTH + 1


def definitions() -> list[dict[str, Any]]:
    chain: list[dict[str, Any]] = [{"id": "s0", "type": "noop"}]
    chain += [
        {"id": f"s{i}", "type": "noop", "depends_on": [f"s{i - 1}"]} for i in range(1, CHAIN_LENGTH)
    ]
    parallel = [{"id": f"p{i}", "type": "noop"} for i in range(FANOUT_WIDTH)]
    join = {"id": "join", "type": "noop", "depends_on": [p["id"] for p in parallel]}
    return [
        {"name": NOOP, "nodes": [{"id": "only", "type": "noop"}]},
        {"name": CHAIN, "nodes": chain},
        {"name": FANOUT, "nodes": [*parallel, join]},
    ]


def save_workflows(dsn: str) -> None:
    """Validate and save the bench workflows, as `flowsync workflow apply` would."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        for raw in definitions():
            parsed = parse_definition(raw)
            conn.execute(
                "SELECT * FROM flowsync.save_workflow_version(%s, %s, %s, %s)",
                (
                    parsed.name,
                    Jsonb(msgspec.json.decode(canonical_json(parsed))),
                    definition_checksum(parsed),
                    Jsonb(msgspec.to_builtins(build_plan(parsed))),
                ),
            )
