"""`bin/flowsync dev` as a user runs it: embedded Postgres, API, clean stop, no leftovers."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from flowsync.embedded import free_port
from tests.processes import wait_for

ROOT = Path(__file__).resolve().parents[2]


def postgres_pids(data_dir: Path) -> list[int]:
    """PIDs of postgres processes serving `data_dir`."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if b"postgres" in cmdline and str(data_dir).encode() in cmdline:
            pids.append(int(entry.name))
    return pids


@pytest.fixture
def data_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="flowsync-dev-test-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


class DevProcess:
    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        env = {**os.environ, "FLOWSYNC_DATA_DIR": str(data_dir), "FLOWSYNC_LOG_FORMAT": "json"}
        env.pop("FLOWSYNC_DATABASE_URL", None)
        self.proc = subprocess.Popen(
            [str(ROOT / "bin" / "flowsync"), "dev", "--port", str(self.port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        self.banner = self._read_banner()
        match = re.search(r"Admin API key: (fsk_\S+)", self.banner)
        assert match, self.banner
        self.key = match.group(1)

    def _read_banner(self) -> str:
        assert self.proc.stdout is not None
        lines = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Stop with Ctrl-C" in line:
                return "".join(lines)
        raise AssertionError("dev did not print its banner:\n" + "".join(lines))

    def stop(self, sig: signal.Signals) -> int:
        """Send `sig`, wait for the exit, return the exit code."""
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=60)
        finally:
            assert self.proc.stdout is not None
            self.proc.stdout.close()

    def ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/ready", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False


def test_dev_serves_api_and_stops_cleanly_on_sigterm(data_dir: Path) -> None:
    dev = DevProcess(data_dir)
    try:
        assert f"http://127.0.0.1:{dev.port}" in dev.banner
        assert "postgresql://postgres:" in dev.banner and "@127.0.0.1:" in dev.banner
        wait_for(dev.ready, 60, "/ready")
        headers = {"Authorization": f"Bearer {dev.key}"}
        definition = {"name": "hello", "nodes": [{"id": "a", "type": "noop"}]}
        created = httpx.post(f"{dev.url}/workflows", json=definition, headers=headers)
        assert created.status_code == 201, created.text
        assert httpx.get(f"{dev.url}/workflows/hello", headers=headers).json()["version"] == 1
        assert postgres_pids(data_dir), "the embedded server should be running"
    finally:
        assert dev.stop(signal.SIGTERM) == 0
    assert postgres_pids(data_dir) == []

    # Data survives a restart, and the same admin key is shown again.
    again = DevProcess(data_dir)
    try:
        wait_for(again.ready, 60, "/ready after restart")
        assert again.key == dev.key
        got = httpx.get(
            f"{again.url}/workflows/hello", headers={"Authorization": f"Bearer {again.key}"}
        )
        assert got.status_code == 200
    finally:
        assert again.stop(signal.SIGINT) == 0
    assert postgres_pids(data_dir) == []


def test_killed_dev_leaves_no_postgres_behind(data_dir: Path) -> None:
    dev = DevProcess(data_dir)
    wait_for(dev.ready, 60, "/ready")
    assert postgres_pids(data_dir)
    assert dev.stop(signal.SIGKILL) == -signal.SIGKILL
    wait_for(lambda: postgres_pids(data_dir) == [], 30, "postgres to exit after its parent died")
