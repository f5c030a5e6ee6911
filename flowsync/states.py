"""Execution and step statuses, mirroring the SQL enums (a test keeps them equal).

Python code takes status names, and the tuples and sets of them, from here instead of
spelling the strings out (SQL keeps its own: the enums are the truth).
"""

from __future__ import annotations

from enum import StrEnum


class ExecutionStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class StepStatus(StrEnum):
    PENDING = "pending"
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"
    DEAD = "dead"


TERMINAL_EXECUTION = frozenset(
    {ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED, ExecutionStatus.CANCELLED}
)
TERMINAL_STEP = frozenset(
    {
        StepStatus.SUCCEEDED,
        StepStatus.FAILED,
        StepStatus.SKIPPED,
        StepStatus.CANCELLED,
        StepStatus.DEAD,
    }
)
DEAD_LETTER = frozenset({StepStatus.FAILED, StepStatus.DEAD})

# Plain strings, in the enum's order: for argparse choices and messages listing what is allowed.
EXECUTION_STATUSES: tuple[str, ...] = tuple(status.value for status in ExecutionStatus)
STEP_STATUSES: tuple[str, ...] = tuple(status.value for status in StepStatus)
