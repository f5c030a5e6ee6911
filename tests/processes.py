"""A `python -m flowsync <role>` subprocess for end-to-end tests, its log kept in a file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any


class FlowSyncProcess:
    def __init__(self, role: str, dsn: str, log_path: Path, *args: str) -> None:
        self.log_path = log_path
        env = {
            **os.environ,
            "FLOWSYNC_DATABASE_URL": dsn,
            "FLOWSYNC_LOG_FORMAT": "json",
            "FLOWSYNC_LOG_LEVEL": "info",
        }
        with open(log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "flowsync", role, *args],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def signal(self, sig: signal.Signals) -> None:
        if self.alive():
            self.proc.send_signal(sig)

    def wait(self, timeout: float) -> int:
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        """Kill it if it still runs (test teardown)."""
        if self.alive():
            self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def log_tails(processes: Iterable[FlowSyncProcess], chars: int = 4000) -> str:
    """The end of each process's log, headed by its file name: for assertion messages."""
    return "\n".join(f"--- {p.log_path.name}\n{p.log()[-chars:]}" for p in processes)


def wait_for(
    condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.05
) -> Any:
    """Poll until `condition()` is truthy; fail clearly after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)
