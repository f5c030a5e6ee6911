"""The action contract: context variables, rendering, the step logger and results."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime

import httpx
import pytest

from flowsync.actions import (
    Completion,
    PermanentError,
    Snooze,
    StepLogger,
    as_action_error,
    normalize_result,
)
from flowsync.actions.base import MAX_LOG_LINES, MAX_LOG_MESSAGE_BYTES, RetryableError
from tests.unit.actions.conftest import NOW, make_context


def test_variables_and_idempotency_key() -> None:
    client = httpx.AsyncClient(trust_env=False)
    ctx = make_context(
        client,
        "echo",
        {},
        input={"a": 1},
        steps={"up": {"output": 2}},
        attempt=3,
        env={"REGION": "eu"},
    )
    assert ctx.idempotency_key == "0b5e6d1c-0000-4000-8000-000000000001:call"
    assert ctx.variables() == {
        "input": {"a": 1},
        "steps": {"up": {"output": 2}},
        "execution": {
            "id": "0b5e6d1c-0000-4000-8000-000000000001",
            "workflow": "orders",
            "version": 3,
            "node": "call",
            "attempt": 3,
        },
        "env": {"REGION": "eu"},
    }
    assert ctx.render({"x": "{{ execution.attempt + input.a }}"}) == {"x": 4}
    with pytest.raises(PermanentError, match=r"^config\.value: "):
        ctx.render("{{ input.nope }}", field="value")
    asyncio.run(client.aclose())


def test_logger_caps_lines_and_notes_it() -> None:
    log = StepLogger(clock=lambda: NOW)
    for index in range(MAX_LOG_LINES + 10):
        log.info("tick", i=index)
    assert len(log.lines) == MAX_LOG_LINES
    assert log.lines[-2].fields == {"i": MAX_LOG_LINES - 2}
    assert log.lines[-1].level == "warning"
    assert "later lines are dropped" in log.lines[-1].message
    assert log.dropped == 11


def test_logger_truncates_long_messages_and_converts_fields() -> None:
    log = StepLogger(clock=lambda: NOW)
    log.error("é" * MAX_LOG_MESSAGE_BYTES, when=NOW, id=uuid.UUID(int=1))
    [line] = log.lines
    assert line.at == NOW
    assert len(line.message.split("…")[0].encode()) == MAX_LOG_MESSAGE_BYTES
    assert line.message.endswith(f"[truncated: {2 * MAX_LOG_MESSAGE_BYTES} bytes, kept 8192]")
    assert line.fields == {
        "when": "2030-01-31T09:00:00Z",
        "id": "00000000-0000-0000-0000-000000000001",
    }
    log.debug("big", blob="x" * (MAX_LOG_MESSAGE_BYTES + 1))
    assert "truncated" in log.lines[-1].fields


def test_normalize_result() -> None:
    assert normalize_result({"a": 1}) == Completion(output={"a": 1})
    assert normalize_result(Completion(output=1, outcome="x")) == Completion(output=1, outcome="x")
    snooze = Snooze(until=NOW, state={})
    assert normalize_result(snooze) is snooze
    assert normalize_result({"at": NOW}) == Completion(output={"at": "2030-01-31T09:00:00Z"})
    with pytest.raises(PermanentError, match="not JSON"):
        normalize_result({"x": object()})
    with pytest.raises(PermanentError, match="timezone-aware"):
        normalize_result(Snooze(until=datetime(2030, 1, 1), state={}))


def test_error_classes() -> None:
    error = RetryableError("slow down", details={"status": 429}, retry_after=3)
    assert error.to_dict() == {
        "message": "slow down",
        "retryable": True,
        "details": {"status": 429},
        "retry_after": 3,
    }
    assert PermanentError("no").to_dict() == {"message": "no", "retryable": False}


def test_unexpected_exceptions_become_retryable_errors() -> None:
    error = as_action_error(KeyError("total"))
    assert isinstance(error, RetryableError)
    assert error.message == "KeyError: 'total'"
    assert error.details == {"exception": "builtins.KeyError"}
    permanent = PermanentError("no")
    assert as_action_error(permanent) is permanent
