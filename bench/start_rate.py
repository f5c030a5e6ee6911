"""Start rate: executions started per second through the HTTP API (one request each, 32
concurrent clients), through `flowsync.start_execution` one per transaction (1 and 32
connections), and in batches through `flowsync.start_executions` (`batch_size` inputs per
call). No worker runs meanwhile.

The HTTP clients are a minimal keep-alive HTTP/1.1 client on asyncio streams, so that on a
small machine the load generator takes as little CPU as possible from the API it measures."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from typing import Any

import asyncpg

from bench.context import BenchError, Context, wait_until
from bench.load import closed_loop
from bench.procs import start_api
from bench.stats import percentile
from bench.workflows import NOOP
from flowsync import keys
from flowsync.embedded import free_port

HOST = "127.0.0.1"


async def sql_single(ctx: Context, connections: int) -> dict[str, float]:
    async def start(conn: asyncpg.Connection[Any]) -> int:
        await conn.fetchval("SELECT flowsync.start_execution($1)", NOOP)
        return 1

    result = await closed_loop(
        ctx.dsn,
        connections=connections,
        calls=ctx.sizes.sql_single_starts,
        call=start,
        warmup=ctx.sizes.warmup,
    )
    return {"starts_per_s": result.items_per_s, "p50_ms": percentile(result.latencies_s, 50) * 1000}


async def sql_batch(ctx: Context) -> dict[str, float]:
    inputs = json.dumps([{}] * ctx.sizes.batch_size)

    async def start_many(conn: asyncpg.Connection[Any]) -> int:
        started: int = await conn.fetchval(
            "SELECT count(*) FROM flowsync.start_executions($1, $2)", NOOP, inputs
        )
        return started

    result = await closed_loop(
        ctx.dsn, connections=1, calls=ctx.sizes.sql_batches, call=start_many, warmup=1
    )
    return {"starts_per_s": result.items_per_s}


async def api(ctx: Context) -> dict[str, float]:
    sizes = ctx.sizes
    key = keys.new_api_key()
    conn = await asyncpg.connect(ctx.dsn)
    try:
        await conn.execute(
            "SELECT flowsync.create_api_key($1, $2, $3::flowsync.api_scope[], $4)",
            keys.hash_api_key(key),
            keys.display_prefix(key),
            ["write"],
            "bench",
        )
    finally:
        await conn.close()
    port = free_port()
    proc = start_api(ctx, port, "start-api")
    try:

        async def healthy() -> bool:
            try:
                status, _ = await _once(port, _request("GET", "/health", key, b""))
            except OSError:
                return False
            return status == 200

        await wait_until(healthy, what="API start-up", within=90, interval=0.05, procs=[proc])
        body = b'{"input": {}}'
        raw = _request("POST", f"/workflows/{NOOP}/executions", key, body)
        tickets = itertools.count()
        latencies: list[float] = []
        failures: list[tuple[int, bytes]] = []

        # Every client connected and warm, then all go at once.
        barrier = asyncio.Barrier(sizes.clients + 1)

        async def client(warmup: int) -> None:
            reader, writer = await asyncio.open_connection(HOST, port)
            try:
                for _ in range(warmup):
                    await _exchange(reader, writer, raw)
                await barrier.wait()
                while next(tickets) < sizes.api_starts:
                    started = time.perf_counter()
                    status, answer = await _exchange(reader, writer, raw)
                    latencies.append(time.perf_counter() - started)
                    if status != 201:
                        failures.append((status, answer))
            finally:
                writer.close()

        clients = [asyncio.create_task(client(2)) for _ in range(sizes.clients)]
        try:
            await asyncio.wait_for(barrier.wait(), 60)
        except TimeoutError:
            for task in clients:
                task.cancel()
            failed = [t.exception() for t in clients if t.done() and not t.cancelled()]
            raise BenchError(f"API clients did not all get going: {failed[:1]}") from None
        started = time.perf_counter()
        await asyncio.gather(*clients)
        elapsed = time.perf_counter() - started
        rss = proc.peak_rss_mb()
    finally:
        proc.stop()
    if failures:
        status, answer = failures[0]
        raise BenchError(
            f"API start: {len(failures)} requests failed; first: {status} {answer[:300]!r}"
        )
    return {
        "starts_per_s": sizes.api_starts / elapsed,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "api_peak_rss_mb": rss,
    }


def _request(method: str, path: str, key: str, body: bytes) -> bytes:
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: {HOST}\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _once(port: int, raw: bytes) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        return await _exchange(reader, writer, raw)
    finally:
        writer.close()


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes
) -> tuple[int, bytes]:
    """Send one request on a keep-alive connection; the response's status and body."""
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        return status, await reader.readexactly(int(headers["content-length"]))
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                return status, body
            body += chunk[:-2]
    raise BenchError(f"API answered {status} without Content-Length or chunked encoding")
