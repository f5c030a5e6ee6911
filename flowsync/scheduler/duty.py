"""What a leader-only duty looks like."""

from __future__ import annotations

from typing import Any, Protocol, TypeAlias

import asyncpg

Pool: TypeAlias = "asyncpg.Pool[Any]"


class Duty(Protocol):
    """Run by the leader every `every` seconds, on its own task. Must be idempotent: a deposed
    leader may finish a pass after its successor started one."""

    name: str
    every: float

    async def run(self, pool: Pool) -> int:
        """Do one pass; return how many things it did (fired, woke, rescued, deleted)."""
        ...
