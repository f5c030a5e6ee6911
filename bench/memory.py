"""The memory scenario's probe: a process's peak resident set (VmHWM), read from /proc.

Peak RSS is sampled from the processes other scenarios run anyway: the worker during the
drain, the API during the start-rate run. VmHWM is the kernel's high-water mark of the
resident set, so one read just before the process is stopped gives its peak.
"""

from __future__ import annotations

import math
from pathlib import Path


def peak_rss_mb(pid: int) -> float:
    """VmHWM of `pid` in MiB, or NaN when the process is gone or the kernel does not say."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return math.nan
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return math.nan
