"""condition, transform, echo and noop."""

from __future__ import annotations

from typing import Any

import pytest

from flowsync.actions import Completion, PermanentError
from flowsync.actions.condition import condition
from flowsync.actions.echo import echo
from flowsync.actions.noop import noop
from flowsync.actions.transform import transform
from tests.unit.actions.conftest import run_step

STEPS = {"fetch": {"output": {"body": {"total": 1500, "tier": "gold"}}}}


@pytest.mark.parametrize(
    ("expr", "outcome"),
    [
        ("steps.fetch.output.body.total > 1000", True),
        ("steps.fetch.output.body.total > 2000", False),
        ("steps.fetch.output.body.tier", "gold"),
        ("execution.attempt == 1 && env.REGION == 'eu'", True),
    ],
)
def test_condition_outcomes(expr: str, outcome: Any) -> None:
    result = run_step(condition, "condition", {"expr": expr}, steps=STEPS, env={"REGION": "eu"})
    assert result == Completion(output={"outcome": outcome}, outcome=outcome)


def test_condition_of_another_type_is_permanent_and_names_it() -> None:
    with pytest.raises(PermanentError, match="gave int 1500; a condition must give a bool"):
        run_step(condition, "condition", {"expr": "steps.fetch.output.body.total"}, steps=STEPS)


def test_condition_on_a_missing_key_is_permanent() -> None:
    with pytest.raises(PermanentError, match=r"config\.expr: .*no such key"):
        run_step(condition, "condition", {"expr": "steps.other.output.ok"}, steps=STEPS)


def test_transform_renders_its_value() -> None:
    config = {"value": {"total": "{{ steps.fetch.output.body.total }}", "n": "#{{ input.n }}"}}
    result = run_step(transform, "transform", config, steps=STEPS, input={"n": 7})
    assert result == {"total": 1500, "n": "#7"}


def test_echo_renders_its_value_or_none() -> None:
    assert run_step(echo, "echo", {"value": ["{{ input }}"]}, input={"a": 1}) == [{"a": 1}]
    assert run_step(echo, "echo", {}) is None


def test_noop_outputs_none() -> None:
    assert run_step(noop, "noop", {}) is None


def test_a_config_that_bypassed_validation_is_permanent() -> None:
    with pytest.raises(PermanentError, match="invalid noop config"):
        run_step(noop, "noop", {"surprise": 1})
