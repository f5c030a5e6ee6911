"""Fixtures for action tests: a real HTTP server on 127.0.0.1 and a way to run one step."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from flowsync.actions import Action, Resources, SmtpSettings, StepContext

EXECUTION_ID = uuid.UUID("0b5e6d1c-0000-4000-8000-000000000001")
NOW = datetime(2030, 1, 31, 9, 0, tzinfo=UTC)


def free_port() -> int:
    """A port nobody listens on (right now)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


@dataclass
class Server:
    url: str
    requests: list[Received] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)


class _Handler(BaseHTTPRequestHandler):
    server: _Http

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.server.state.requests.append(Received(self.command, parts.path, query, headers, body))
        path = parts.path
        if path == "/json":
            self._reply(200, b'{"ok": true, "items": [1, 2]}', "application/json")
        elif path == "/text":
            self._reply(200, "héllo".encode("latin-1"), "text/plain; charset=latin-1")
        elif path == "/echo":
            echoed = {"headers": headers, "query": query, "body": body.decode()}
            self._reply(200, json.dumps(echoed).encode(), "application/json")
        elif path.startswith("/status/"):
            extra = {"Retry-After": query["retry_after"][0]} if "retry_after" in query else {}
            self._reply(int(path.rsplit("/", 1)[1]), b"boom " * 1000, "text/plain", extra)
        elif path == "/big":
            size = int(query["n"][0])
            if "chunked" in query:  # no Content-Length: HTTP/1.0 ends the body by closing
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                for _ in range(size // 100):
                    self.wfile.write(b"x" * 100)
            else:
                self._reply(200, b"x" * size, "text/plain")
        elif path == "/slow":
            self.server.state.release.wait(5)
            self._reply(200, b"late", "text/plain")
        else:
            self._reply(404, b"not here", "text/plain")

    def _reply(
        self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


class _Http(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    state: Server


@pytest.fixture
def server() -> Iterator[Server]:
    httpd = _Http(("127.0.0.1", 0), _Handler)
    httpd.state = Server(url=f"http://127.0.0.1:{httpd.server_address[1]}")
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield httpd.state
    finally:
        httpd.state.release.set()
        httpd.shutdown()
        thread.join()
        httpd.server_close()


def make_context(
    http: httpx.AsyncClient,
    node_type: str,
    config: dict[str, Any],
    *,
    input: Any = None,
    steps: dict[str, Any] | None = None,
    state: dict[str, Any] | None = None,
    attempt: int = 1,
    timeout: float | None = 10.0,
    now: datetime = NOW,
    smtp: SmtpSettings | None = None,
    env: dict[str, str] | None = None,
) -> StepContext:
    return StepContext(
        execution_id=EXECUTION_ID,
        workflow="orders",
        version=3,
        node_id="call",
        node_type=node_type,
        step_id=7,
        attempt=attempt,
        max_attempts=5,
        config=config,
        input=input,
        steps=steps or {},
        state=state,
        timeout=timeout,
        resources=Resources(http=http, env=env or {}, smtp=smtp, now=lambda: now),
    )


def run_step(action: Action, node_type: str, config: dict[str, Any], **kwargs: Any) -> Any:
    """Run one action to its result (or exception) with a fresh HTTP client."""
    return run_with_context(action, node_type, config, **kwargs)[0]


def run_with_context(
    action: Action, node_type: str, config: dict[str, Any], **kwargs: Any
) -> tuple[Any, StepContext]:
    async def main() -> tuple[Any, StepContext]:
        async with httpx.AsyncClient(trust_env=False) as client:
            ctx = make_context(client, node_type, config, **kwargs)
            return await action(ctx), ctx

    return asyncio.run(main())
