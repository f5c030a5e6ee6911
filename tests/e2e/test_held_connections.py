"""The worker's held connections: one backend reused call after call, and a broken one
closed (the pool opens a new one) instead of being tried again."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest
from asyncpg.pool import PoolConnectionProxy

from flowsync import db
from flowsync.worker.held import HeldConnections
from flowsync.worker.transient import TRANSIENT_ERRORS


async def backend_pid(conn: PoolConnectionProxy[Any]) -> int:
    pid: int = await conn.fetchval("SELECT pg_backend_pid()")
    return pid


def test_calls_reuse_one_backend_and_a_broken_one_is_replaced(database_dsn: str) -> None:
    async def scenario() -> tuple[list[int], int, int]:
        pool = await db.create_pool(database_dsn, min_size=1, max_size=3)
        held = HeldConnections(pool)
        try:
            pids = [await held.run(backend_pid) for _ in range(5)]
            killer = await asyncpg.connect(database_dsn)
            try:
                await killer.execute("SELECT pg_terminate_backend($1)", pids[0])
            finally:
                await killer.close()
            with pytest.raises(TRANSIENT_ERRORS):  # (the worker retries these)
                await held.run(backend_pid)
            after = await held.run(backend_pid)
            again = await held.run(backend_pid)
            return pids, after, again
        finally:
            await held.release()
            await asyncio.wait_for(pool.close(), 10)  # (hangs if a connection was kept)

    pids, after, again = asyncio.run(scenario())
    assert len(set(pids)) == 1, f"each call took another backend: {pids}"
    assert after != pids[0], "the terminated connection was used again"
    assert again == after, "the new connection is not held either"


def test_concurrent_calls_hold_one_connection_each(database_dsn: str) -> None:
    async def scenario() -> list[int]:
        pool = await db.create_pool(database_dsn, min_size=1, max_size=3)
        held = HeldConnections(pool)
        gate = asyncio.Event()

        async def slow(conn: PoolConnectionProxy[Any]) -> int:
            await gate.wait()
            return await backend_pid(conn)

        try:
            calls = [asyncio.create_task(held.run(slow)) for _ in range(2)]
            await asyncio.sleep(0)
            gate.set()
            pids = list(await asyncio.gather(*calls))
            pids += [await held.run(backend_pid) for _ in range(4)]
            return pids
        finally:
            await held.release()
            await asyncio.wait_for(pool.close(), 10)

    pids = asyncio.run(scenario())
    assert len(set(pids[:2])) == 2, f"two calls in flight shared a connection: {pids}"
    assert set(pids[2:]) <= set(pids[:2]), f"later calls left the held pair: {pids}"


def test_a_timed_out_call_keeps_its_connection(database_dsn: str) -> None:
    """asyncpg cancels a statement that ran past the command timeout; the connection stays fit
    (closing it would leave its backend running the statement)."""

    async def sleepy(conn: PoolConnectionProxy[Any]) -> None:
        await conn.execute("SELECT pg_sleep(5)")

    async def scenario() -> tuple[int, int]:
        pool = await db.create_pool(database_dsn, min_size=1, max_size=3, command_timeout=0.2)
        held = HeldConnections(pool)
        try:
            before = await held.run(backend_pid)
            with pytest.raises(TimeoutError):
                await held.run(sleepy)
            return before, await held.run(backend_pid)
        finally:
            await held.release()
            await asyncio.wait_for(pool.close(), 10)

    before, after = asyncio.run(scenario())
    assert after == before, "the connection was closed after a timeout"
