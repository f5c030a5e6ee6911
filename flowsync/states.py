"""Execution and step statuses, mirroring the SQL enums (a test keeps them equal).

Where Python lists or groups statuses (the CLI's rendering and filters, the API's filter
schema), it takes them from here (SQL keeps its own: the enums are the truth).
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
# Plain strings, in the enum's order: for argparse choices and messages listing what is allowed.
EXECUTION_STATUSES: tuple[str, ...] = tuple(status.value for status in ExecutionStatus)
STEP_STATUSES: tuple[str, ...] = tuple(status.value for status in StepStatus)
